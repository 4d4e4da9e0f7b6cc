import Reachability
import Testing

/// UPnP IGD's text: SSDP answers, device descriptions and SOAP (spec 0021 §3.2), from the shapes
/// miniupnpd and common routers send.
@Suite struct UPnPIGDTests {
    @Test func theSearchAnswerNamesTheDescription() {
        let answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
            + "location: http://10.0.3.1:5000/rootDesc.xml\r\nSERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n\r\n"
        #expect(UPnPIGD.location(inSearchAnswer: answer) == "http://10.0.3.1:5000/rootDesc.xml")
        #expect(UPnPIGD.location(inSearchAnswer: "HTTP/1.1 200 OK\r\n\r\n") == nil)
        #expect(String(decoding: UPnPIGD.searchRequest, as: UTF8.self).hasPrefix("M-SEARCH * HTTP/1.1\r\n"))
    }

    @Test func theControlURLOfTheWANServiceIsFoundAndMadeAbsolute() {
        let description = """
        <root><device><serviceList>
        <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service>
        </serviceList><deviceList><device><deviceList><device><serviceList>
        <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL></service>
        </serviceList></device></deviceList></device></deviceList></device></root>
        """
        let found = UPnPIGD.controlURL(inDescription: description, base: "http://10.0.3.1:5000/rootDesc.xml")
        #expect(found?.service == "urn:schemas-upnp-org:service:WANIPConnection:1")
        #expect(found?.url == "http://10.0.3.1:5000/ctl/IPConn")
        #expect(UPnPIGD.controlURL(inDescription: "<root></root>", base: "http://10.0.3.1:5000/") == nil)
    }

    @Test func theSOAPBodyCarriesTheArgumentsInOrder() {
        let body = UPnPIGD.soapBody(action: "AddPortMapping", service: "urn:schemas-upnp-org:service:WANIPConnection:1",
                                    arguments: UPnPIGD.addPortMapping(port: 6891, transport: "TCP", internalClient: "10.0.3.2", lease: 7200))
        let fields: String = "<NewRemoteHost></NewRemoteHost><NewExternalPort>6891</NewExternalPort><NewProtocol>TCP</NewProtocol>"
            + "<NewInternalPort>6891</NewInternalPort><NewInternalClient>10.0.3.2</NewInternalClient><NewEnabled>1</NewEnabled>"
            + "<NewPortMappingDescription>potluck</NewPortMappingDescription><NewLeaseDuration>7200</NewLeaseDuration>"
        let expected: String = "<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">" + fields + "</u:AddPortMapping>"
        #expect(body.contains(expected))
    }

    @Test func answersAndFaultsAreRead() {
        let answer = "<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>203.0.113.70</NewExternalIPAddress>"
            + "</u:GetExternalIPAddressResponse></s:Body></s:Envelope>"
        #expect(UPnPIGD.value(of: "NewExternalIPAddress", in: answer) == "203.0.113.70")
        let fault = "<s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>"
        #expect(UPnPIGD.fault(in: fault) == "UPnP error 718 (ConflictInMappingEntry)")
        #expect(UPnPIGD.fault(in: answer) == nil)
    }
}
