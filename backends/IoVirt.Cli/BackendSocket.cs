using System.CommandLine;
using IoVirt.Interop;

namespace IoVirt.Cli;

/// <summary>
/// The socket a one-device daemon serves: the path it is on, and the listening socket it was
/// passed, if it was; or a connection it was passed (<paramref name="Path"/> then names it).
/// </summary>
internal sealed record ServedSocket(string Path, UnixSocket? Passed, UnixSocket? Connection = null);

/// <summary>
/// Where a one-device daemon serves, by QEMU's back-end program conventions
/// (docs/interop/vhost-user.rst): <c>--socket-path PATH</c> (also <c>--socket</c>), which it binds,
/// or <c>--fd N</c>, a socket a management layer made and started it with: a listening one,
/// whose file stays the manager's (as virtiofsd takes one), or a connected one, served until
/// the front end goes (libvirt's socketpair for vhost-user-gpu, and inetd-style activation).
/// Exactly one, but for --print-capabilities.
/// </summary>
internal sealed class BackendSocket
{
    public Option<string> Path { get; } = CommandLine.Text("--socket", "PATH", "socket to listen on; this or --fd is required", "--socket-path");

    public Option<int?> Fd { get; } = CommandLine.Int(
        "--fd",
        "N",
        """
        serve the Unix socket passed as descriptor N: a listening
        one bound to a path (the manager keeps its file), or a
        connected one, served until that front end goes
        """,
        3,
        65535);

    /// <summary>
    /// Adds both options to <paramref name="command"/>, one of them required unless
    /// <paramref name="unless"/> is given or <paramref name="instead"/> (another way to say where
    /// to serve, which excludes both) is.
    /// </summary>
    public void AddTo(Command command, Option<bool> unless, Option? instead = null)
    {
        command.Add(Path);
        command.Add(Fd);
        command.Validators.Add(result =>
        {
            var given = (result.GetResult(Path) is null ? 0 : 1) + (result.GetResult(Fd) is null ? 0 : 1);
            if (instead is not null && result.GetResult(instead) is not null)
            {
                if (given > 0)
                {
                    result.AddError($"{instead.Name} excludes --socket and --fd");
                }
            }
            else if (given == 2)
            {
                result.AddError("--socket and --fd exclude each other");
            }
            else if (given == 0 && !result.GetValue(unless))
            {
                result.AddError("--socket PATH or --fd N is required");
            }
        });
    }

    /// <summary>
    /// The socket to serve: the path given, or the one descriptor N is bound to (taken over here,
    /// so after the sandbox's re-exec, which it must survive). Null, with one line on stderr, when
    /// the descriptor is neither a listening Unix socket on a path nor a connected one, or sockets
    /// were passed by socket activation as well.
    /// </summary>
    public ServedSocket? Open(ParseResult result, string program)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.GetValue(Fd) is not { } fd)
        {
            return new ServedSocket(result.GetRequiredValue(Path), null);
        }

        // Socket activation passes its sockets from descriptor 3 on too: the two would both take
        // the same descriptor and close it twice.
        if (InheritedSockets.ArePassed)
        {
            Console.Error.WriteLine($"{program}: --fd and socket activation (LISTEN_FDS) exclude each other");
            return null;
        }

        switch (UnixSocket.Passed(fd, out var path))
        {
            case PassedSocket.Listening:
                return new ServedSocket(path!, UnixSocket.AdoptListening(fd, out _));
            case PassedSocket.Connected:
                return new ServedSocket($"descriptor {fd}", null, UnixSocket.AdoptConnected(fd));
            default:
                Console.Error.WriteLine($"{program}: --fd {fd}: descriptor {fd} is not a Unix stream socket, connected or listening on a path");
                return null;
        }
    }
}
