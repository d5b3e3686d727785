<!-- include start from firewall/outbound-interface.xml.i -->
<node name="outbound-interface">
  <properties>
    <help>Match outbound-interface</help>
  </properties>
  <children>
    #include <include/firewall/match-interface.xml.i>
  </children>
</node>
<!-- include end -->