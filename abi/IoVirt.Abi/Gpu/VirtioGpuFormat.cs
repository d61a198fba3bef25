namespace IoVirt.Abi.Gpu;

/// <summary>
/// Pixel formats of 2D resources, virtio 1.2 §5.7.6.8, named by the order of the bytes in memory
/// (B8G8R8A8: blue at the lowest address). Every one has 4 bytes per pixel.
/// </summary>
public enum VirtioGpuFormat : uint
{
    B8G8R8A8Unorm = 1,
    B8G8R8X8Unorm = 2,
    A8R8G8B8Unorm = 3,
    X8R8G8B8Unorm = 4,
    R8G8B8A8Unorm = 67,
    X8B8G8R8Unorm = 68,
    A8B8G8R8Unorm = 121,
    R8G8B8X8Unorm = 134,
}
