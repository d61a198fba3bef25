namespace IoVirt.VhostUser;

/// <summary>
/// A front-end message the back end refuses. With REPLY_ACK the front end gets a non-zero
/// reply; otherwise the connection is closed. The message says why, for the log.
/// </summary>
public sealed class VhostUserProtocolException : Exception
{
    public VhostUserProtocolException()
        : base("vhost-user protocol error")
    {
    }

    public VhostUserProtocolException(string message)
        : base(message)
    {
    }

    public VhostUserProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
