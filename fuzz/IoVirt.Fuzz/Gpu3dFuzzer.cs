using IoVirt.Abi.Gpu;
using IoVirt.Testing;

namespace IoVirt.Fuzz;

/// <summary>
/// The <c>gpu-command-3d</c> target: <see cref="GpuCommandTarget"/>'s input and checks on a device
/// with 3D, so the 3D commands (contexts, 3D resources, transfers, SUBMIT_3D) and their mix with
/// 2D resources and scanouts reach virglrenderer on the host's GPU. A crash inside the renderer
/// is a finding too. After each run the device is reset and must hold nothing.
/// </summary>
public static class Gpu3dCommandTarget
{
    public const string Name = "gpu-command-3d";

    /// <summary>Gallium: PIPE_TEXTURE_2D and VIRGL_BIND_RENDER_TARGET | VIRGL_BIND_SAMPLER_VIEW.</summary>
    private const uint Texture2d = 2;
    private const uint RenderTarget = (1 << 1) | (1 << 3);

    public static int Run(ReadOnlySpan<byte> input) => GpuCommandTarget.Run(input, virgl: true);

    public static int WriteSeeds(string directory) => SeedFiles.Write(directory, "gpu3d", Seeds());

    /// <summary>Seeds: a guest that renders a clear and shows it, one that reads capsets, and one that uploads and reads back.</summary>
    public static IEnumerable<byte[]> Seeds()
    {
        var backing = GpuCommandTarget.BackingAddress();
        var context = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.CtxCreate, CtxId = 1 };
        var box = new VirtioGpuBox(0, 0, 0, 16, 16, 1);
        var clear = new VirglCommandStream().Surface(1, 1, (uint)VirtioGpuFormat.B8G8R8X8Unorm).Framebuffer(1).ClearColor(1, 0, 0.5f, 1).ToBytes();
        byte[] create = GpuCommandTarget.Bytes(new VirtioGpuResourceCreate3d
        {
            Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.ResourceCreate3d },
            ResourceId = 1,
            Target = Texture2d,
            Format = (uint)VirtioGpuFormat.B8G8R8X8Unorm,
            Bind = RenderTarget,
            Width = 16,
            Height = 16,
            Depth = 1,
            ArraySize = 1,
        });
        byte[] attach = [
            .. GpuCommandTarget.Bytes(new VirtioGpuResourceAttachBacking { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.ResourceAttachBacking }, ResourceId = 1, NrEntries = 1 }),
            .. GpuCommandTarget.Bytes(new VirtioGpuMemEntry { Addr = backing, Length = 1024 })];
        byte[] contextCreate = GpuCommandTarget.Bytes(new VirtioGpuCtxCreate { Header = context });
        byte[] contextAttach = GpuCommandTarget.Bytes(new VirtioGpuResourceIdCommand { Header = context with { Type = VirtioGpuCtrlType.CtxAttachResource }, ResourceId = 1 });
        byte[] submit = [.. GpuCommandTarget.Bytes(new VirtioGpuCmdSubmit { Header = context with { Type = VirtioGpuCtrlType.Submit3d, Flags = VirtioGpuCtrlFlags.Fence, FenceId = 1 }, StreamSize = (uint)clear.Length }), .. clear];
        var rect = new VirtioGpuRect(0, 0, 16, 16);

        yield return GpuCommandTarget.Sequence([
            contextCreate,
            create,
            attach,
            contextAttach,
            submit,
            GpuCommandTarget.Bytes(new VirtioGpuTransferHost3d { Header = context with { Type = VirtioGpuCtrlType.TransferFromHost3d }, ResourceId = 1, Box = box, Stride = 64 }),
            GpuCommandTarget.Bytes(new VirtioGpuSetScanout { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.SetScanout }, ResourceId = 1, ScanoutId = 0, Rect = rect }),
            GpuCommandTarget.Bytes(new VirtioGpuResourceFlush { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.ResourceFlush }, ResourceId = 1, Rect = rect }),
            GpuCommandTarget.Bytes(new VirtioGpuResourceIdCommand { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.ResourceUnref }, ResourceId = 1 }),
            GpuCommandTarget.Bytes(context with { Type = VirtioGpuCtrlType.CtxDestroy }),
        ]);
        yield return GpuCommandTarget.Sequence([
            GpuCommandTarget.Bytes(new VirtioGpuGetCapsetInfo { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.GetCapsetInfo }, CapsetIndex = 1 }),
            GpuCommandTarget.Bytes(new VirtioGpuGetCapset { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.GetCapset }, CapsetId = VirtioGpuCapset.Virgl2, CapsetVersion = 1 }),
        ]);
        yield return GpuCommandTarget.Sequence([
            contextCreate,
            create,
            attach,
            contextAttach,
            GpuCommandTarget.Bytes(new VirtioGpuTransferHost3d { Header = context with { Type = VirtioGpuCtrlType.TransferToHost3d }, ResourceId = 1, Box = box, Stride = 64 }),
            GpuCommandTarget.Bytes(new VirtioGpuTransferHost3d { Header = context with { Type = VirtioGpuCtrlType.TransferFromHost3d }, ResourceId = 1, Box = box, Stride = 64 }),
            GpuCommandTarget.Bytes(new VirtioGpuResourceIdCommand { Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.ResourceDetachBacking }, ResourceId = 1 }),
        ]);
    }
}
