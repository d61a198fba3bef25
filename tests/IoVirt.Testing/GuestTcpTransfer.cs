using System.Text.RegularExpressions;

namespace IoVirt.Testing;

/// <summary>The MD5 sums (lowercase hex) of what a guest sent and what it received in its TCP transfer.</summary>
public readonly record struct TcpTransferResult(string SentMd5, string ReceivedMd5);

/// <summary>
/// The guest side of a bulk TCP test: a busybox script that sends random data to a server with
/// <c>nc</c> and fetches data over HTTP with <c>wget</c>, printing the MD5 sum of each; and the
/// parser for those lines. The host side holds the other ends and compares the sums.
/// </summary>
public static partial class GuestTcpTransfer
{
    /// <summary>
    /// A guest script that brings eth0 up with <paramref name="addressWithPrefix"/>, waits up to
    /// <paramref name="waitForServerSeconds"/> for <paramref name="server"/> to answer ARP, writes
    /// <paramref name="bytes"/> random bytes to <paramref name="server"/>:<paramref name="sendPort"/>
    /// (busybox nc exits when its input ends; the kernel still delivers what it queued, then FIN),
    /// then reads http://<paramref name="server"/>:<paramref name="receivePort"/>/ (busybox nc would
    /// quit at the end of its own input, before the server's data; wget reads to the end).
    /// It prints <c>NET-SENT md5</c> and <c>NET-RECEIVED md5</c> and exits non-zero if either step failed.
    /// </summary>
    public static string Script(string addressWithPrefix, string server, int sendPort, int receivePort, int bytes, int waitForServerSeconds = 30) =>
        $$"""
        #!/bin/sh
        {{GuestPing.LinkUpAndWaitFor(addressWithPrefix, server, waitForServerSeconds)}}
        head -c {{bytes}} /dev/urandom > /tmp/sent
        set -- $(md5sum /tmp/sent)
        echo "NET-SENT $1"
        nc {{server}} {{sendPort}} < /tmp/sent || exit 1
        wget -q -O /tmp/received http://{{server}}:{{receivePort}}/ || exit 1
        set -- $(md5sum /tmp/received)
        echo "NET-RECEIVED $1"
        """;

    /// <summary>The two MD5 lines in a guest's output.</summary>
    public static TcpTransferResult Parse(string output) => new(Md5After("NET-SENT", output), Md5After("NET-RECEIVED", output));

    private static string Md5After(string label, string output)
    {
        var match = Md5Line().Matches(output).FirstOrDefault(m => m.Groups["label"].Value == label)
            ?? throw new InvalidOperationException($"no {label} line in the guest's output: " + output);
        return match.Groups["md5"].Value;
    }

    [GeneratedRegex(@"^(?<label>NET-SENT|NET-RECEIVED) (?<md5>[0-9a-f]{32})\s*$", RegexOptions.Multiline)]
    private static partial Regex Md5Line();
}
