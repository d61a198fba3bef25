using System.Globalization;
using System.Text.RegularExpressions;

namespace IoVirt.Testing;

/// <summary>What one guest's ping run reported in its <c>NET-PING</c> line.</summary>
public readonly record struct PingResult(string Peer, int Transmitted, int Received, int Status);

/// <summary>
/// The guest side of the network tests: a busybox script that brings eth0 up with an IPv4
/// address, waits for a peer, pings it and prints one parseable line; and the parser for that line.
/// </summary>
public static partial class GuestPing
{
    /// <summary>
    /// Guest shell lines that bring lo and eth0 up with <paramref name="addressWithPrefix"/> and
    /// wait up to <paramref name="seconds"/> for <paramref name="peer"/> to answer ARP, then print
    /// <c>NET-WAIT arp-tries=…</c>.
    /// </summary>
    public static string LinkUpAndWaitFor(string addressWithPrefix, string peer, int seconds) =>
        $$"""
        ip link set lo up
        ip addr add {{addressWithPrefix}} dev eth0
        ip link set eth0 up
        tries=0
        until arping -q -c 1 -w 1 -I eth0 {{peer}}; do
          tries=$((tries + 1))
          [ $tries -ge {{seconds}} ] && break
        done
        echo "NET-WAIT arp-tries=$tries"
        """;

    /// <summary>
    /// A guest script that brings lo and eth0 up with <paramref name="addressWithPrefix"/> (e.g.
    /// 10.0.0.2/24), waits up to <paramref name="waitForPeerSeconds"/> for <paramref name="peer"/>
    /// to answer ARP (it may still be booting, and the bridge has to learn where it is), pings it
    /// <paramref name="count"/> times, prints <c>NET-PING peer=… transmitted=… received=… status=…</c>
    /// and exits with ping's status. For two guests pinging each other, <paramref name="answerPeerPings"/>
    /// keeps the guest up after its own pings until it has answered that many echo requests (or
    /// the wait ran out), so the first guest done does not power off under the other's pings; ARP,
    /// not ping, probes the peer, so every echo counted is a real one.
    /// </summary>
    public static string Script(string addressWithPrefix, string peer, int count = 3, int waitForPeerSeconds = 30, int answerPeerPings = 0) =>
        $$"""
        #!/bin/sh
        {{LinkUpAndWaitFor(addressWithPrefix, peer, waitForPeerSeconds)}}
        {{Ping(peer, count)}}
        {{WaitUntilAnswered(answerPeerPings, waitForPeerSeconds)}}
        exit $status
        """;

    /// <summary>Guest shell lines that ping <paramref name="peer"/> <paramref name="count"/> times, print its <c>NET-PING</c> line and leave ping's status in <c>$status</c>.</summary>
    public static string Ping(string peer, int count) =>
        $$"""
        ping -c {{count}} -W 2 {{peer}} > /tmp/ping 2>&1
        status=$?
        cat /tmp/ping
        set -- $(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' /tmp/ping)
        echo "NET-PING peer={{peer}} transmitted=${1:-0} received=${2:-0} status=$status"
        """;

    /// <summary>
    /// Guest shell lines that wait until the guest has answered <paramref name="echoRequests"/> echo
    /// requests in all (or <paramref name="seconds"/> ran out), then print <c>NET-ANSWERED n</c>.
    /// </summary>
    public static string WaitUntilAnswered(int echoRequests, int seconds) =>
        $$"""
        echos() { awk '/^Icmp:/ { if (!column) { for (i = 1; i <= NF; i++) if ($i == "InEchos") column = i } else print $column }' /proc/net/snmp; }
        waited=0
        while [ "$(echos)" -lt {{echoRequests}} ] && [ $waited -lt {{seconds * 10}} ]; do
          sleep 0.1
          waited=$((waited + 1))
        done
        echo "NET-ANSWERED $(echos)"
        """;

    /// <summary>The first <c>NET-PING</c> line in a guest's output.</summary>
    public static PingResult Parse(string output) =>
        ParseAll(output) is [var first, ..] ? first : throw new InvalidOperationException("no NET-PING line in the guest's output: " + output);

    /// <summary>Every <c>NET-PING</c> line in a guest's output, in order.</summary>
    public static IReadOnlyList<PingResult> ParseAll(string output) =>
    [
        .. ResultLine().Matches(output).Select(match => new PingResult(
            match.Groups["peer"].Value,
            int.Parse(match.Groups["transmitted"].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups["received"].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture))),
    ];

    [GeneratedRegex(@"^NET-PING peer=(?<peer>\S+) transmitted=(?<transmitted>\d+) received=(?<received>\d+) status=(?<status>\d+)", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
}
