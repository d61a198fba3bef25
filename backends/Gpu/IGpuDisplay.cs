using IoVirt.Abi.Gpu;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// Where scanouts go: a window, files, or a VMM's display over the vhost-user-gpu socket. Called
/// on the device's worker thread; a frame's pixels are valid only during the call.
/// </summary>
public interface IGpuDisplay
{
    /// <summary>A scanout shows a <paramref name="width"/> by <paramref name="height"/> image now, or (width 0) nothing.</summary>
    void ScanoutChanged(int scanout, uint width, uint height);

    /// <summary><paramref name="damage"/> (in scanout coordinates) of the scanout's image changed; <paramref name="frame"/> is the whole image.</summary>
    void Flush(int scanout, GpuFrame frame, VirtioGpuRect damage);

    /// <summary>The cursor moved on <paramref name="scanout"/>; hidden when <paramref name="visible"/> is false.</summary>
    void MoveCursor(int scanout, uint x, uint y, bool visible);

    /// <summary>The cursor has a new 64x64 <paramref name="image"/> with its hot spot, at x, y.</summary>
    void SetCursor(int scanout, uint x, uint y, uint hotX, uint hotY, GpuFrame image);

    /// <summary>
    /// The display's own preferred modes for the first modes.Length scanouts (a VMM's windows,
    /// whose sizes the VMM decides); false when it has none, and the device's configured size
    /// stands. Called for each GET_DISPLAY_INFO and GET_EDID.
    /// </summary>
    bool TryGetModes(Span<VirtioGpuDisplayOne> modes);
}

/// <summary>A scanout's image: <see cref="Height"/> rows of <see cref="Stride"/> bytes, <see cref="Width"/> pixels of 4 bytes each in <see cref="Format"/>.</summary>
public readonly ref struct GpuFrame(VirtioGpuFormat format, ReadOnlySpan<byte> pixels, int stride, uint width, uint height)
{
    public VirtioGpuFormat Format { get; } = format;

    public ReadOnlySpan<byte> Pixels { get; } = pixels;

    public int Stride { get; } = stride;

    public uint Width { get; } = width;

    public uint Height { get; } = height;
}
