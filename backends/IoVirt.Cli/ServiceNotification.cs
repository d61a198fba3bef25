using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// Tells a service manager that started the daemon with NOTIFY_SOCKET (systemd's Type=notify)
/// that every socket listens: the sd_notify protocol, one datagram "READY=1". The socket is
/// connected early, while the manager's socket is still in view (a sandboxed daemon no longer
/// sees the path), and written to once serving. Without the variable it does nothing; a socket
/// file at each path is the signal for scripts.
/// </summary>
internal sealed class ServiceNotification : IDisposable
{
    private readonly Socket? _socket;
    private readonly string _path;
    private readonly ILogger _log;

    private ServiceNotification(Socket? socket, string path, ILogger log)
    {
        _socket = socket;
        _path = path;
        _log = log;
    }

    public static ServiceNotification Connect(ILogger log)
    {
        if (Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is not { Length: > 1 } path || path[0] is not ('/' or '@'))
        {
            return new ServiceNotification(null, string.Empty, log);
        }

        // A leading '@' names a socket in the abstract namespace: a NUL byte on the wire.
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path));
            return new ServiceNotification(socket, path, log);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            Warn(log, path, e);
            return new ServiceNotification(null, path, log);
        }
    }

    public void Ready()
    {
        try
        {
            _socket?.Send("READY=1"u8);
        }
        catch (SocketException e)
        {
            Warn(_log, _path, e);
        }
    }

    public void Dispose() => _socket?.Dispose();

    // The daemon serves whether or not its manager hears it.
    private static void Warn(ILogger log, string path, SocketException e) =>
        log.LogWarning("could not tell NOTIFY_SOCKET {Path} that the daemon is ready: {Reason}", path, e.Message);
}
