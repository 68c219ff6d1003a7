readinessProbe.tcpSocket.port = "ssh";
livenessProbe.tcpSocket.port = "ssh";
