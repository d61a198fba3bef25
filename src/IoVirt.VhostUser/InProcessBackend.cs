using IoVirt.Devices;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;

namespace IoVirt.VhostUser;

/// <summary>
/// Serves a device model to a front end in the same process: a <see cref="BackendSession"/> on
/// one end of a socket pair, on its own thread, and the front end on the other. A VMM's
/// in-process devices thus run the very rings, workers and inflight tracking its vhost-user
/// daemons run; only the setup messages cross the pair, while kicks and interrupts go between
/// the hypervisor's eventfds and the device's worker threads, as with a daemon.
/// </summary>
public sealed class InProcessBackend(VirtioDeviceModel device, ILogger log, TimeSpan busyPoll = default) : IDisposable
{
    private Thread? _session;

    public VirtioDeviceModel Device { get; } = device ?? throw new ArgumentNullException(nameof(device));

    /// <summary>
    /// Starts a session and returns the front end connected to it. A session ends when its front
    /// end is disposed, or when the session fails (logged); the next call then starts a fresh one
    /// on the reset device, as a restarted daemon would.
    /// </summary>
    public VhostUserFrontend Connect()
    {
        _session?.Join();
        var (frontEnd, backEnd) = UnixSocket.Pair();
        _session = SelfNamedThread.Create($"in-process {Device.Name}", () => Serve(backEnd));
        _session.Start();
        return VhostUserFrontend.Over(frontEnd);
    }

    private void Serve(UnixSocket socket)
    {
        try
        {
            BackendSession session;
            try
            {
                session = new BackendSession(socket, Device, log, busyPoll);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            using (session)
            {
                session.Serve();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // As in VhostUserServer: a defect of ours ends this session, not the VMM.
            log.LogCritical(e, "the in-process {Device} session failed", Device.Name);
        }
    }

    /// <summary>Waits for the session to end; dispose the front end first.</summary>
    public void Dispose() => _session?.Join();
}
