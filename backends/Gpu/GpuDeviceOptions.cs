namespace IoVirt.Backends.Gpu;

/// <summary>How a <see cref="GpuDevice"/> presents itself and what it lets one guest take.</summary>
public sealed record GpuDeviceOptions
{
    /// <summary>Largest display side an EDID detailed timing can describe (12 bits).</summary>
    public const uint MaxDisplaySide = 4095;

    /// <summary>Largest resource side accepted.</summary>
    public const uint MaxResourceSide = 16384;

    /// <summary>Scanouts (displays), 1 to 16.</summary>
    public int Scanouts { get; init; } = 1;

    /// <summary>Preferred width of every scanout, reported by GET_DISPLAY_INFO and the EDID.</summary>
    public uint Width { get; init; } = 1280;

    /// <summary>Preferred height of every scanout.</summary>
    public uint Height { get; init; } = 800;

    /// <summary>Host bytes all of the guest's resources may take together; past it creation fails with ERR_OUT_OF_MEMORY.</summary>
    public ulong MaxResourceBytes { get; init; } = 256UL << 20;

    /// <summary>Most pieces one RESOURCE_ATTACH_BACKING may name.</summary>
    public int MaxBackingEntries { get; init; } = 16384;

    /// <summary>3D through virglrenderer (VIRTIO_GPU_F_VIRGL): contexts, 3D resources and command streams.</summary>
    public bool Virgl { get; init; }

    /// <summary>Most 3D contexts one guest may have at once.</summary>
    public int MaxContexts { get; init; } = 64;

    /// <summary>Largest command stream one SUBMIT_3D may carry, in bytes.</summary>
    public int MaxSubmitBytes { get; init; } = 1 << 20;

    /// <summary>How long a fenced command waits for the GPU before it is answered with an error (a guest's endless shader).</summary>
    public TimeSpan FenceTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws for options no device can have.</summary>
    public void Validate()
    {
        if (Scanouts is < 1 or > Abi.Gpu.VirtioGpuConfig.MaxScanouts)
        {
            throw new ArgumentOutOfRangeException(nameof(Scanouts), Scanouts, "a GPU has 1 to 16 scanouts");
        }

        if (Width is 0 or > MaxDisplaySide || Height is 0 or > MaxDisplaySide)
        {
            throw new ArgumentOutOfRangeException(nameof(Width), $"{Width}x{Height}", $"each side is 1 to {MaxDisplaySide} pixels");
        }

        if (MaxContexts < 1 || MaxSubmitBytes < sizeof(uint) || FenceTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxContexts), "3D limits must be positive");
        }

        if (MaxBackingEntries < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackingEntries), MaxBackingEntries, "at least one entry");
        }
    }
}
