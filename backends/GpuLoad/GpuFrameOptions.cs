namespace IoVirt.Backends.Gpu.Load;

/// <summary>What <see cref="GpuFrameBench"/> runs: the frame size and how long.</summary>
public sealed record GpuFrameOptions
{
    /// <summary>The back end's socket.</summary>
    public required string SocketPath { get; init; }

    public uint Width { get; init; } = 1280;

    public uint Height { get; init; } = 800;

    /// <summary>Measured time.</summary>
    public TimeSpan Runtime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Frames before measuring starts.</summary>
    public TimeSpan RampTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one command or frame may take before the back end counts as stalled.</summary>
    public int TimeoutMs { get; init; } = 10_000;
}
