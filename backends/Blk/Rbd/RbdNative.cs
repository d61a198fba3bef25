using System.Runtime.InteropServices;
using Tmds.Linux;

namespace IoVirt.Backends.Blk.Rbd;

/// <summary>
/// The parts of librados and librbd (Debian's librados2 and librbd1) the RBD engine uses. Every
/// call returns 0 or a negated errno, as the C API does; handles are opaque pointers.
/// </summary>
internal static unsafe partial class RbdNative
{
    private const string Rados = "librados.so.2";
    private const string Rbd = "librbd.so.1";

    [LibraryImport(Rados, EntryPoint = "rados_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Create(out nint cluster, string? id);

    [LibraryImport(Rados, EntryPoint = "rados_conf_read_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ConfReadFile(nint cluster, string? path);

    [LibraryImport(Rados, EntryPoint = "rados_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ConfSet(nint cluster, string option, string value);

    [LibraryImport(Rados, EntryPoint = "rados_connect")]
    public static partial int Connect(nint cluster);

    [LibraryImport(Rados, EntryPoint = "rados_shutdown")]
    public static partial void Shutdown(nint cluster);

    [LibraryImport(Rados, EntryPoint = "rados_ioctx_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int IoctxCreate(nint cluster, string pool, out nint ioctx);

    [LibraryImport(Rados, EntryPoint = "rados_ioctx_destroy")]
    public static partial void IoctxDestroy(nint ioctx);

    [LibraryImport(Rbd, EntryPoint = "rbd_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int CreateImage(nint ioctx, string name, ulong size, ref int order);

    [LibraryImport(Rbd, EntryPoint = "rbd_remove", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RemoveImage(nint ioctx, string name);

    [LibraryImport(Rbd, EntryPoint = "rbd_list")]
    public static partial int List(nint ioctx, byte* names, ref nuint size);

    [LibraryImport(Rbd, EntryPoint = "rbd_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(nint ioctx, string name, out nint image, string? snapshot);

    [LibraryImport(Rbd, EntryPoint = "rbd_open_read_only", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenReadOnly(nint ioctx, string name, out nint image, string? snapshot);

    [LibraryImport(Rbd, EntryPoint = "rbd_close")]
    public static partial int Close(nint image);

    [LibraryImport(Rbd, EntryPoint = "rbd_get_size")]
    public static partial int GetSize(nint image, out ulong size);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_create_completion")]
    public static partial int CreateCompletion(nint argument, delegate* unmanaged<nint, nint, void> callback, out nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_get_return_value")]
    public static partial nint ReturnValue(nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_release")]
    public static partial void Release(nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_readv")]
    public static partial int ReadV(nint image, iovec* vectors, int count, ulong offset, nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_writev")]
    public static partial int WriteV(nint image, iovec* vectors, int count, ulong offset, nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_flush")]
    public static partial int Flush(nint image, nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_discard")]
    public static partial int Discard(nint image, ulong offset, ulong length, nint completion);

    [LibraryImport(Rbd, EntryPoint = "rbd_aio_write_zeroes")]
    public static partial int WriteZeroes(nint image, ulong offset, nuint length, nint completion, int zeroFlags, int opFlags);
}
