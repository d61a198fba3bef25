namespace IoVirt.Interop;

/// <summary>Why a socket path cannot be listened on.</summary>
public enum SocketPathProblem
{
    /// <summary>Something other than a socket is there (a file the user wants to keep, a directory).</summary>
    NotASocket,

    /// <summary>A live listener has it: another daemon (holding its lock file) or another program.</summary>
    InUse,
}

/// <summary>A socket path that must not be taken: its message is one line for the operator.</summary>
public sealed class SocketPathException(SocketPathProblem problem, string message) : IOException(message)
{
    public SocketPathProblem Problem { get; } = problem;
}
