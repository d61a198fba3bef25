using IoVirt.Abi.Gpu;
using IoVirt.Memory;
using Tmds.Linux;

namespace IoVirt.Backends.Gpu.Virgl;

/// <summary>
/// A guest's 3D resource as the renderer holds it, and its backing: the iovec array the renderer
/// keeps a pointer to, and the guest memory those iovecs point into, retained so the mapping
/// outlives any memory table change until the backing is detached.
/// </summary>
internal sealed unsafe class VirglResource(in VirtioGpuResourceCreate3d command, ulong bytes)
{
    public uint Id { get; } = command.ResourceId;

    public uint Target { get; } = command.Target;

    public uint Format { get; } = command.Format;

    public uint Width { get; } = command.Width;

    public uint Height { get; } = command.Height;

    public uint Depth { get; } = command.Depth;

    public uint ArraySize { get; } = command.ArraySize;

    public uint LastLevel { get; } = command.LastLevel;

    /// <summary>What it counts against the guest's quota.</summary>
    public ulong Bytes { get; } = bytes;

    public iovec* Iov { get; set; }

    public GuestMemory? Memory { get; set; }

    /// <summary>The guest ranges of the backing, for the dirty log after the renderer writes them.</summary>
    public (ulong Address, uint Length)[] Pieces { get; set; } = [];
}
