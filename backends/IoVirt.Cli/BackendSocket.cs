using System.CommandLine;
using IoVirt.Interop;

namespace IoVirt.Cli;

/// <summary>The socket a one-device daemon serves: the path it is on, and the listening socket it was passed, if it was.</summary>
internal sealed record ServedSocket(string Path, UnixSocket? Passed);

/// <summary>
/// Where a one-device daemon serves, by QEMU's back-end program conventions
/// (docs/interop/vhost-user.rst): <c>--socket-path PATH</c> (also <c>--socket</c>), which it binds,
/// or <c>--fd N</c>, a listening socket a management layer made and started it with (as
/// virtiofsd takes one), whose file stays the manager's. Exactly one, but for --print-capabilities.
/// </summary>
internal sealed class BackendSocket
{
    public Option<string> Path { get; } = CommandLine.Text("--socket", "PATH", "socket to listen on; this or --fd is required", "--socket-path");

    public Option<int?> Fd { get; } = CommandLine.Int(
        "--fd",
        "N",
        """
        serve the listening Unix socket passed as descriptor N
        (bound to a path; a management layer's, which keeps its file)
        """,
        3,
        65535);

    /// <summary>Adds both options to <paramref name="command"/>, one of them required unless <paramref name="unless"/> is given.</summary>
    public void AddTo(Command command, Option<bool> unless)
    {
        command.Add(Path);
        command.Add(Fd);
        command.Validators.Add(result =>
        {
            var given = (result.GetResult(Path) is null ? 0 : 1) + (result.GetResult(Fd) is null ? 0 : 1);
            if (given == 2)
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
    /// the descriptor is not a listening Unix socket on a path, or sockets were passed by socket
    /// activation as well.
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

        try
        {
            var passed = UnixSocket.AdoptListening(fd, out var path);
            return new ServedSocket(path, passed);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"{program}: --fd {fd}: {e.Message}");
            return null;
        }
    }
}
