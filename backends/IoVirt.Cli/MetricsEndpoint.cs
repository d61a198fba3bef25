using System.Net;
using System.Net.Sockets;

namespace IoVirt.Cli;

/// <summary>Where <c>--metrics-listen</c> serves the daemon's metrics in Prometheus text format: an IP address and a port.</summary>
internal readonly record struct MetricsEndpoint(IPAddress Address, int Port)
{
    /// <summary>The host part of the listener's URL (an IPv6 address in brackets).</summary>
    public string Host => Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();

    /// <summary>The URL a scraper reads.</summary>
    public string Url => $"http://{Host}:{Port}/metrics";

    /// <summary>ADDR:PORT with a literal address ([ADDR]:PORT for IPv6) and a port from 1 to 65535.</summary>
    public static MetricsEndpoint? Parse(string text, out string why)
    {
        why = "ADDR:PORT, such as 127.0.0.1:9100 or [::1]:9100";
        return IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port > 0 && text.EndsWith($":{endpoint.Port}", StringComparison.Ordinal)
            ? new MetricsEndpoint(endpoint.Address, endpoint.Port)
            : null;
    }
}
