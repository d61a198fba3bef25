using IoVirt.Devices;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;

namespace IoVirt.VhostUser;

/// <summary>
/// Serves one device on one Unix socket path: accepts a front end, runs a <see cref="BackendSession"/>
/// until it goes away, resets the device and waits for the next one (so a restarted QEMU, or a
/// restarted back end that QEMU reconnects to, finds the device ready). Or serves one connection
/// it was given (<see cref="ForConnection"/>) and ends with it. Runs on its own thread; a broken
/// connection is logged and never stops the server.
/// </summary>
public sealed class VhostUserServer : IDisposable
{
    private readonly VirtioDeviceModel _device;
    private readonly ILogger _log;
    private readonly TimeSpan _busyPoll;
    private readonly SocketPathClaim? _claim;
    private readonly UnixSocket? _listener;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private UnixSocket? _given;
    private readonly EventFd _stop = EventFd.Create();
    private readonly Thread _thread;
    private readonly object _gate = new();
    private UnixSocket? _connection;
    private volatile bool _stopping;
    private int _connectionsClosedForErrors;
    private bool _disposed;

    /// <summary>Claims <paramref name="socketPath"/> and listens there; the socket file is removed on dispose.</summary>
    public VhostUserServer(string socketPath, VirtioDeviceModel device, ILogger log, TimeSpan busyPoll = default)
        : this(ListenOn(socketPath), socketPath, device, log, busyPoll)
    {
    }

    /// <summary>
    /// Serves on <paramref name="listener"/>, a socket already listening on <paramref name="socketPath"/>
    /// (passed by a service manager, which owns the socket file: it is left in place).
    /// </summary>
    public VhostUserServer(UnixSocket listener, string socketPath, VirtioDeviceModel device, ILogger log, TimeSpan busyPoll = default)
        : this((listener ?? throw new ArgumentNullException(nameof(listener)), null), socketPath, device, log, busyPoll)
    {
    }

    private VhostUserServer((UnixSocket? Listener, SocketPathClaim? Claim) endpoint, string socketPath, VirtioDeviceModel device, ILogger log, TimeSpan busyPoll, UnixSocket? given = null)
    {
        (_listener, _claim) = endpoint;
        _given = given;
        if (device is null)
        {
            Release();
            throw new ArgumentNullException(nameof(device));
        }

        SocketPath = socketPath;
        _device = device;
        _log = log;
        _busyPoll = busyPoll;
        _thread = SelfNamedThread.Create($"vhost-user {device.Name}", Run);
    }

    /// <summary>
    /// Serves <paramref name="connection"/>, a front end's connection a management layer passed
    /// (libvirt gives a back end one end of a socketpair), and nothing after it: there is no
    /// socket to come back to. <paramref name="name"/> names it in logs. <see cref="Ended"/>
    /// completes when that front end has gone.
    /// </summary>
    public static VhostUserServer ForConnection(UnixSocket connection, string name, VirtioDeviceModel device, ILogger log, TimeSpan busyPoll = default) =>
        new((null, null), name, device, log, busyPoll, connection ?? throw new ArgumentNullException(nameof(connection)));

    /// <summary>The path served, or for <see cref="ForConnection"/> the connection's name.</summary>
    public string SocketPath { get; }

    /// <summary>True for a server made by <see cref="ForConnection"/>: it has no socket to accept on.</summary>
    public bool ServesOneConnection => _listener is null;

    /// <summary>Completes when the server has stopped serving: disposed, or its one given connection ended.</summary>
    public Task Ended => _ended.Task;

    /// <summary>False when the socket was passed by a service manager, which owns its file (and there is no lock file).</summary>
    public bool OwnsSocketFile => _claim is not null;

    /// <summary>Front ends served so far (counting the current one).</summary>
    public int Connections { get; private set; }

    /// <summary>Connections closed because the front end broke the protocol or the session failed.</summary>
    public int ConnectionsClosedForErrors => Volatile.Read(ref _connectionsClosedForErrors);

    /// <summary>True while a front end is connected.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _connection is not null;
            }
        }
    }

    public void Start() => _thread.Start();

    private void Run()
    {
        try
        {
            Serve();
        }
        finally
        {
            _ended.SetResult();
        }
    }

    private void Serve()
    {
        if (ServesOneConnection)
        {
            _log.LogInformation("{Device} serving the connection passed as {Name}", _device.Name, SocketPath);
        }
        else
        {
            _log.LogInformation(OwnsSocketFile ? "{Device} listening on {Path}" : "{Device} listening on {Path} (a socket passed by the service manager)", _device.Name, SocketPath);
        }

        while (!_stopping)
        {
            var connection = Interlocked.Exchange(ref _given, null) ?? _listener?.Accept(_stop);
            if (connection is null)
            {
                break;
            }

            lock (_gate)
            {
                if (_stopping)
                {
                    connection.Dispose();
                    break;
                }

                _connection = connection;
                Connections++;
            }

            _log.LogInformation("front end connected ({Count})", Connections);
            try
            {
                using var session = new BackendSession(connection, _device, _log, _busyPoll);
                try
                {
                    if (!session.Serve())
                    {
                        Interlocked.Increment(ref _connectionsClosedForErrors);
                    }
                }
                finally
                {
                    // Forget the connection before the session closes it, so Dispose never shuts
                    // down a descriptor number that another socket may have reused.
                    lock (_gate)
                    {
                        _connection = null;
                    }
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A defect of ours must not take the other devices of the daemon down with this
                // connection: log it loudly and serve the next front end (the fuzz targets call
                // Serve directly, so there such an exception still surfaces).
                Interlocked.Increment(ref _connectionsClosedForErrors);
                _log.LogCritical(e, "the session failed; dropping the connection");
            }

            if (ServesOneConnection)
            {
                _log.LogInformation("the passed connection ended; nothing more to serve");
                break;
            }
        }
    }

    /// <summary>Stops accepting, ends the current connection, waits for the thread and removes the socket file (if it is this server's, and still there).</summary>
    public void Dispose()
    {
        // The host stops its servers itself, then its service container disposes them again.
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping = true;
        lock (_gate)
        {
            _connection?.Shutdown();
        }

        _stop.Signal();
        // ThreadState is a set of flags: a background thread never started is Unstarted | Background.
        if ((_thread.ThreadState & ThreadState.Unstarted) == 0)
        {
            _thread.Join();
        }
        else
        {
            _ended.SetResult();
        }

        if (Release() is { } why)
        {
            _log.LogWarning("left {Path}: {Reason}", SocketPath, why);
        }
    }

    private static (UnixSocket, SocketPathClaim?) ListenOn(string socketPath)
    {
        var claim = SocketPathClaim.Acquire(socketPath);
        try
        {
            return (UnixSocket.Listen(claim), claim);
        }
        catch
        {
            claim.Dispose();
            throw;
        }
    }

    /// <summary>Closes the listener (or a given connection never served) and the stop signal, and gives up a claimed path: null, or why the socket file was left.</summary>
    private string? Release()
    {
        _listener?.Dispose();
        Interlocked.Exchange(ref _given, null)?.Dispose();
        _stop.Dispose();
        return _claim?.Release();
    }
}
