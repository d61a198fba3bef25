using IoVirt.Abi.Gpu;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// `--snapshot DIR`: after each flush, scanout N's whole image is in DIR/scanout-N.png (written to
/// a temporary name and renamed, so a reader never sees half a file). A file stays when its
/// scanout goes off (a guest's last picture, after it shut down, is the one most often wanted).
/// </summary>
public sealed class PngSnapshotDisplay(string directory) : IGpuDisplay
{
    /// <summary>Files have no size of their own to ask for: the device's configured size stands.</summary>
    public bool TryGetModes(Span<VirtioGpuDisplayOne> modes) => false;

    public string PathOf(int scanout) => Path.Combine(directory, $"scanout-{scanout}.png");

    public void ScanoutChanged(int scanout, uint width, uint height)
    {
    }

    public void Flush(int scanout, GpuFrame frame, VirtioGpuRect damage)
    {
        var path = PathOf(scanout);
        var temporary = path + ".tmp";
        using (var file = File.Create(temporary))
        {
            PngWriter.Write(file, frame);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Snapshots show the scanouts alone, without the cursor.</summary>
    public void MoveCursor(int scanout, uint x, uint y, bool visible)
    {
    }

    public void SetCursor(int scanout, uint x, uint y, uint hotX, uint hotY, GpuFrame image)
    {
    }
}
