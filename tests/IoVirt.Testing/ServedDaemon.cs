using System.Globalization;

namespace IoVirt.Testing;

/// <summary>An <c>iovirt</c> daemon listening on its socket, confined in its sandbox; disposing it stops it.</summary>
public sealed record ServedDaemon(DaemonProcess Process, string Socket) : IDisposable
{
    /// <summary>
    /// <c>iovirt net --tap TAP</c> in <paramref name="netNamespace"/>, serving
    /// <paramref name="directory"/>/TAP.sock; once it listens its TAP exists, and it is made a
    /// port of <paramref name="bridge"/>.
    /// </summary>
    public static ServedDaemon NetOnBridge(NetNamespace netNamespace, string directory, string tap, string bridge, int queuePairs = 1)
    {
        ArgumentNullException.ThrowIfNull(netNamespace);
        var socket = Path.Combine(directory, tap + ".sock");
        var daemon = DaemonProcess.StartIn(netNamespace, "net", "--socket", socket, "--tap", tap, "--queues", queuePairs.ToString(CultureInfo.InvariantCulture));
        return Listening(daemon, socket, () => netNamespace.Enslave(tap, bridge, timeoutMs: 5_000));
    }

    /// <summary><c>iovirt blk</c> on <paramref name="socket"/> with <paramref name="options"/> (the image and the rest).</summary>
    public static ServedDaemon Blk(string socket, params string[] options) =>
        Listening(DaemonProcess.Start(["blk", "--socket", socket, .. options]), socket, () => { });

    public void Dispose() => Process.Dispose();

    private static ServedDaemon Listening(DaemonProcess daemon, string socket, Action then)
    {
        try
        {
            daemon.WaitForSocket(socket);
            if (!daemon.IsConfined)
            {
                throw new InvalidOperationException("the daemon runs without its sandbox");
            }

            then();
            return new ServedDaemon(daemon, socket);
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }
}
