using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using Tmds.Linux;

namespace IoVirt.Backends.Gpu.Virgl;

/// <summary>
/// libvirglrenderer's C API (virglrenderer.h, 0.10), the calls this back end makes. The library
/// keeps one renderer per process and its GL context is bound to the thread that initialised it:
/// only <see cref="VirglRenderer"/>'s thread calls these.
/// </summary>
internal static unsafe partial class VirglNative
{
    public const string Library = "libvirglrenderer.so.1";

    /// <summary>Renderer flags: its own EGL winsys, surfaceless (no window, no display server), on GLES.</summary>
    public const int UseEgl = 1 << 0;
    public const int ThreadSync = 1 << 1;
    public const int UseSurfaceless = 1 << 3;
    public const int UseGles = 1 << 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct Callbacks
    {
        public int Version;
        public delegate* unmanaged[Cdecl]<nint, uint, void> WriteFence;
        public nint CreateGlContext;
        public nint DestroyGlContext;
        public nint MakeCurrent;
        public nint GetDrmFd;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ResourceCreateArgs
    {
        public uint Handle;
        public uint Target;
        public uint Format;
        public uint Bind;
        public uint Width;
        public uint Height;
        public uint Depth;
        public uint ArraySize;
        public uint LastLevel;
        public uint NrSamples;
        public uint Flags;
    }

    [LibraryImport(Library, EntryPoint = "virgl_renderer_init")]
    public static partial int Init(nint cookie, int flags, Callbacks* callbacks);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_poll")]
    public static partial void Poll();

    [LibraryImport(Library, EntryPoint = "virgl_renderer_get_poll_fd")]
    public static partial int GetPollFd();

    [LibraryImport(Library, EntryPoint = "virgl_renderer_get_cap_set")]
    public static partial void GetCapSet(uint set, uint* maxVersion, uint* maxSize);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_fill_caps")]
    public static partial void FillCaps(uint set, uint version, byte* caps);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_context_create")]
    public static partial int ContextCreate(uint handle, uint nameLength, byte* name);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_context_destroy")]
    public static partial void ContextDestroy(uint handle);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_submit_cmd")]
    public static partial int SubmitCmd(byte* buffer, int contextId, int dwords);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_transfer_read_iov")]
    public static partial int TransferReadIov(uint handle, uint contextId, uint level, uint stride, uint layerStride, VirtioGpuBox* box, ulong offset, iovec* iov, int count);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_transfer_write_iov")]
    public static partial int TransferWriteIov(uint handle, uint contextId, int level, uint stride, uint layerStride, VirtioGpuBox* box, ulong offset, iovec* iov, uint count);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_resource_create")]
    public static partial int ResourceCreate(ResourceCreateArgs* args, iovec* iov, uint count);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_resource_unref")]
    public static partial void ResourceUnref(uint handle);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_resource_attach_iov")]
    public static partial int ResourceAttachIov(int handle, iovec* iov, int count);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_resource_detach_iov")]
    public static partial void ResourceDetachIov(int handle, iovec** iov, int* count);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_create_fence")]
    public static partial int CreateFence(int fenceId, uint contextId);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_ctx_attach_resource")]
    public static partial void ContextAttachResource(int contextId, int handle);

    [LibraryImport(Library, EntryPoint = "virgl_renderer_ctx_detach_resource")]
    public static partial void ContextDetachResource(int contextId, int handle);
}
