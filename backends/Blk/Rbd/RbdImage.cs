using System.Runtime.InteropServices;
using IoVirt.Interop;
using static Tmds.Linux.LibC;

namespace IoVirt.Backends.Blk.Rbd;

/// <summary>
/// An RBD image opened through librbd: a block device's image on a Ceph cluster. Every queue's
/// engine shares the one image handle (a second handle would be a second exclusive-lock owner,
/// and the lock would move between them on every write).
/// </summary>
public sealed class RbdImage : IBlockImage
{
    private readonly RbdConnection _connection;
    private nint _image;

    private RbdImage(RbdConnection connection, nint image, RbdImageSpec spec, ulong size, bool readOnly)
    {
        _connection = connection;
        _image = image;
        Spec = spec;
        Size = size;
        ReadOnly = readOnly;
    }

    public RbdImageSpec Spec { get; }

    public string Name => Spec.ToString();

    public ulong Size { get; }

    public bool ReadOnly { get; }

    /// <summary>librbd takes any byte range; 512 is what a guest's disk is addressed in.</summary>
    public uint LogicalBlockSize => 512;

    public uint PhysicalBlockSize => 512;

    internal nint Handle => _image != 0 ? _image : throw new ObjectDisposedException(Name);

    /// <summary>Connects to the cluster and opens the image; an <see cref="IOException"/> with one line when anything is missing or refused.</summary>
    public static RbdImage Open(RbdImageSpec spec, bool readOnly) => Open(RbdConnection.Open(spec), spec, readOnly);

    /// <summary>Opens the image on <paramref name="connection"/>, which the image then owns (and which is closed here when the open fails).</summary>
    internal static RbdImage Open(RbdConnection connection, RbdImageSpec spec, bool readOnly)
    {
        try
        {
            var opened = readOnly
                ? RbdNative.OpenReadOnly(connection.Pool, spec.Image, out var image, null)
                : RbdNative.Open(connection.Pool, spec.Image, out image, null);
            if (opened < 0)
            {
                throw new IOException(opened == -ENOENT
                    ? $"{spec}: pool '{spec.Pool}' has no image '{spec.Image}'"
                    : $"{spec}: cannot open the image: {Marshal.GetPInvokeErrorMessage(-opened)}");
            }

            var sized = RbdNative.GetSize(image, out var size);
            if (sized < 0 || size < 512)
            {
                _ = RbdNative.Close(image);
                throw new IOException(sized < 0
                    ? $"{spec}: cannot read the image's size: {Marshal.GetPInvokeErrorMessage(-sized)}"
                    : $"{spec}: the image holds {size} bytes, less than one sector");
            }

            return new RbdImage(connection, image, spec, size, readOnly);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A discard where the guest allows unmapping, written zeros otherwise (librbd keeps no zeroed-but-allocated state either way).</summary>
    public int ZeroingMode(bool unmap) =>
        BlockFile.FallocKeepSize | (unmap ? BlockFile.FallocPunchHole : BlockFile.FallocZeroRange);

    public BlockEngineKind ResolveEngine(BlockEngineKind requested) => requested is BlockEngineKind.Auto or BlockEngineKind.Rbd
        ? BlockEngineKind.Rbd
        : throw new ArgumentException($"the {requested.ToString().ToLowerInvariant()} engine cannot serve an RBD image: it has the rbd engine only");

    public IBlockEngine CreateEngine(BlockEngineKind kind, int depth, int? submissionPollCpu, bool fixedBuffers = false) => kind == BlockEngineKind.Rbd
        ? new RbdBlockEngine(this)
        : throw new ArgumentOutOfRangeException(nameof(kind), kind, "An RBD image has the rbd engine only.");

    public void Dispose()
    {
        if (_image != 0)
        {
            // Waits for librbd's own work on the image (a flush of nothing: there is no cache).
            _ = RbdNative.Close(_image);
            _image = 0;
        }

        _connection.Dispose();
    }
}
