using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// Tells a service manager that started the daemon with NOTIFY_SOCKET (systemd's Type=notify)
/// that every socket listens: the sd_notify protocol, one datagram "READY=1". Without the
/// variable it does nothing; a socket file at each path is the signal for scripts.
/// </summary>
internal static class ServiceNotification
{
    public static void Ready(ILogger log)
    {
        if (Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is not { Length: > 1 } path || path[0] is not ('/' or '@'))
        {
            return;
        }

        // A leading '@' names a socket in the abstract namespace: a NUL byte on the wire.
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.SendTo("READY=1"u8, new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path));
        }
        catch (SocketException e)
        {
            // The daemon serves whether or not its manager hears it.
            log.LogWarning("could not tell NOTIFY_SOCKET {Path} that the daemon is ready: {Reason}", path, e.Message);
        }
    }
}
