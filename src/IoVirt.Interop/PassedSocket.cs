namespace IoVirt.Interop;

/// <summary>What a descriptor someone passed is, as a vhost-user socket (see <see cref="UnixSocket.Passed"/>).</summary>
public enum PassedSocket
{
    /// <summary>Not a Unix stream socket, or a listening one with no path.</summary>
    Other,

    /// <summary>A Unix stream socket listening on a path.</summary>
    Listening,

    /// <summary>A connected Unix stream socket.</summary>
    Connected,
}
