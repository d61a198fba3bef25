namespace IoVirt.Backends.Mux;

/// <summary>Why a <see cref="Multiplexer"/> could not open what it serves: the image, a volume on it, or the uplink.</summary>
public sealed class MuxOpenException : IOException
{
    public MuxOpenException()
    {
    }

    public MuxOpenException(string message)
        : base(message)
    {
    }

    public MuxOpenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>True when the volumes asked for do not fit the image's table (a size changed, no free extent).</summary>
    public bool VolumesConflict => InnerException is InvalidOperationException;
}
