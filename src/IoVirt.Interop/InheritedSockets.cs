using System.Globalization;

namespace IoVirt.Interop;

/// <summary>
/// Listening sockets a service manager passed this process (systemd's socket activation:
/// descriptors from 3 on, counted by LISTEN_FDS, meant for the process LISTEN_PID names).
/// </summary>
public static class InheritedSockets
{
    private const int FirstFd = 3;

    /// <summary>True when a service manager passed sockets to this process (LISTEN_PID names it) that <see cref="Take"/> has not taken yet.</summary>
    public static bool ArePassed =>
        Environment.GetEnvironmentVariable("LISTEN_PID") == Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Takes the sockets passed to this process, keyed by the full path each is bound to, and
    /// clears the variables so no child takes them too. Empty when none were passed (or they
    /// were meant for another process). <see cref="InvalidOperationException"/> when a passed
    /// descriptor is not a listening Unix socket on a path, or the variables make no sense.
    /// </summary>
    public static Dictionary<string, UnixSocket> Take()
    {
        var count = Environment.GetEnvironmentVariable("LISTEN_FDS");
        var taken = new Dictionary<string, UnixSocket>(StringComparer.Ordinal);
        if (!ArePassed || count is null)
        {
            return taken;
        }

        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var fds) || fds > 64)
        {
            throw new InvalidOperationException($"socket activation: LISTEN_FDS={count} is not a count of passed sockets");
        }

        try
        {
            for (var fd = FirstFd; fd < FirstFd + fds; fd++)
            {
                UnixSocket socket;
                string path;
                try
                {
                    socket = UnixSocket.AdoptListening(fd, out path);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidOperationException($"socket activation: {e.Message}", e);
                }

                if (!taken.TryAdd(Path.GetFullPath(path), socket))
                {
                    socket.Dispose();
                    throw new InvalidOperationException($"socket activation: two passed sockets are bound to {path}");
                }
            }
        }
        catch
        {
            foreach (var socket in taken.Values)
            {
                socket.Dispose();
            }

            throw;
        }

        return taken;
    }
}
