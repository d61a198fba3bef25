using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;
using IoVirt.Memory;
using IoVirt.Testing;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// 3D through virglrenderer on the host's GPU (Mesa's llvmpipe here), over real rings: what a
/// guest's DRM driver sends to render and read back, and every bad input's answer. Needs
/// libvirglrenderer1 and Mesa's EGL (tests/setup.sh).
/// </summary>
[Collection(VirglCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirglDeviceTests : IDisposable
{
    /// <summary>Gallium: PIPE_TEXTURE_2D, PIPE_BUFFER, VIRGL_BIND_RENDER_TARGET | VIRGL_BIND_SAMPLER_VIEW.</summary>
    private const uint Texture2d = 2;
    private const uint Buffer = 0;
    private const uint RenderTarget = (1 << 1) | (1 << 3);
    private const uint Context = 1;
    private const uint Width = 64;
    private const uint Height = 32;

    private readonly RecordingDisplay _display = new();
    private readonly GpuTestDriver _gpu;

    public VirglDeviceTests() =>
        _gpu = new GpuTestDriver(new GpuDevice(new GpuDeviceOptions { Virgl = true, MaxResourceBytes = 1 << 20, FenceTimeout = TimeSpan.FromSeconds(30) }, _display));

    [Fact]
    public void The_device_offers_virgl_and_its_capsets()
    {
        Assert.NotEqual(0UL, _gpu.Device.Features & (1UL << VirtioGpuFeature.Virgl));
        var config = MemoryMarshal.Read<VirtioGpuConfig>(_gpu.Device.ConfigSpace);
        Assert.InRange(config.NumCapsets, 1U, 2U);

        for (var index = 0U; index < config.NumCapsets; index++)
        {
            var info = MemoryMarshal.Read<VirtioGpuRespCapsetInfo>(_gpu.SendRaw(Bytes(new VirtioGpuGetCapsetInfo { Header = Header(VirtioGpuCtrlType.GetCapsetInfo), CapsetIndex = index })));
            Assert.Equal(VirtioGpuCtrlType.OkCapsetInfo, info.Header.Type);
            Assert.Equal(index + 1, info.CapsetId); // virgl, then virgl2
            Assert.InRange(info.CapsetMaxSize, 100U, 4096U);

            var capset = _gpu.SendRaw(Bytes(new VirtioGpuGetCapset { Header = Header(VirtioGpuCtrlType.GetCapset), CapsetId = info.CapsetId, CapsetVersion = info.CapsetMaxVersion }), answerRoom: 8192);
            Assert.Equal(VirtioGpuCtrlType.OkCapset, MemoryMarshal.Read<VirtioGpuCtrlHeader>(capset).Type);
            Assert.Equal(VirtioGpuCtrlHeader.Size + (int)info.CapsetMaxSize, capset.Length);

            // Both layouts start with max_version (le32), which the renderer sets.
            Assert.NotEqual(0U, BitConverter.ToUInt32(capset, VirtioGpuCtrlHeader.Size));
        }

        var bad = _gpu.SendRaw(Bytes(new VirtioGpuGetCapsetInfo { Header = Header(VirtioGpuCtrlType.GetCapsetInfo), CapsetIndex = config.NumCapsets }));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, MemoryMarshal.Read<VirtioGpuCtrlHeader>(bad).Type);
        var unknown = _gpu.Send(new VirtioGpuGetCapset { Header = Header(VirtioGpuCtrlType.GetCapset), CapsetId = 99 });
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, unknown.Type);
    }

    [Fact]
    public void A_clear_submitted_in_a_context_is_read_back_into_the_guests_backing()
    {
        const uint resource = 7;
        CreateTarget(resource);
        var stream = new VirglCommandStream().Surface(1, resource, (uint)VirtioGpuFormat.B8G8R8X8Unorm).Framebuffer(1).ClearColor(1, 0.5f, 0, 1);
        var submit = Header(VirtioGpuCtrlType.Submit3d, Context);
        submit.Flags = VirtioGpuCtrlFlags.Fence;
        submit.FenceId = 42;
        var bytes = stream.ToBytes();
        var answer = _gpu.Send(new VirtioGpuCmdSubmit { Header = submit, StreamSize = (uint)bytes.Length }, bytes);
        Assert.Equal((VirtioGpuCtrlType.OkNoData, VirtioGpuCtrlFlags.Fence, 42UL), (answer.Type, answer.Flags, answer.FenceId));

        Assert.Equal(VirtioGpuCtrlType.OkNoData, ReadBack(resource, new VirtioGpuBox(0, 0, 0, Width, Height, 1)));
        var pixels = new byte[Width * Height * 4];
        Assert.Equal(MemoryFault.None, _gpu.Control.Memory.Read(_gpu.Backing, pixels));
        for (var i = 0; i < pixels.Length; i += 4)
        {
            // B8G8R8X8: blue 0, green half, red full.
            Assert.Equal(0, pixels[i]);
            Assert.InRange(pixels[i + 1], (byte)0x7f, (byte)0x80);
            Assert.Equal(0xff, pixels[i + 2]);
        }
    }

    [Fact]
    public void What_the_guest_uploads_to_a_3d_resource_reaches_the_scanout_through_a_read_back()
    {
        const uint resource = 3;
        CreateTarget(resource);
        var image = new byte[Width * Height * 4];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = (byte)((i / (Width * 4)) < Height / 2 ? 0x20 + (i % 4) : 0xc0 + (i % 4)); // top half dark, bottom half light
        }

        _gpu.WriteGuest(_gpu.Backing, image);
        var upload = new VirtioGpuTransferHost3d { Header = Header(VirtioGpuCtrlType.TransferToHost3d, Context), ResourceId = resource, Box = new VirtioGpuBox(0, 0, 0, Width, Height, 1), Stride = Width * 4 };
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(upload).Type);

        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.SetScanout(0, resource, new VirtioGpuRect(0, 0, Width, Height)));
        Assert.Equal((Width, Height), _display.Scanouts[0]);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Flush(resource, new VirtioGpuRect(0, 0, Width, Height)));

        // The X byte of B8G8R8X8 is undefined once on the GPU: compare colours only.
        var shown = _display.Frames[0];
        for (var i = 0; i < image.Length; i += 4)
        {
            Assert.Equal(image.AsSpan(i, 3).ToArray(), shown.AsSpan(i, 3).ToArray());
        }

        // The copy shown counts against the quota with the resource; unref drops both.
        var withShadow = _gpu.Device.ResourceBytes;
        Assert.Equal(2UL * Width * Height * 4, withShadow);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Unref(resource));
        Assert.Equal((0U, 0U), _display.Scanouts[0]);
        Assert.Equal(0UL, _gpu.Device.ResourceBytes);
    }

    [Fact]
    public void Bad_3d_commands_get_the_spec_errors_and_the_device_goes_on()
    {
        // Context 0 is the renderer's own; an unknown context is named in each command.
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidContextId, _gpu.Send(new VirtioGpuCtxCreate { Header = Header(VirtioGpuCtrlType.CtxCreate, 0) }).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidContextId, _gpu.Send(Header(VirtioGpuCtrlType.CtxDestroy, 5)).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidContextId, _gpu.Send(new VirtioGpuCmdSubmit { Header = Header(VirtioGpuCtrlType.Submit3d, 5) }).Type);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuCtxCreate { Header = Header(VirtioGpuCtrlType.CtxCreate, Context) }).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidContextId, _gpu.Send(new VirtioGpuCtxCreate { Header = Header(VirtioGpuCtrlType.CtxCreate, Context) }).Type);

        // Ids: zero, taken by a 2D resource, or unknown.
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, Create3d(0, Texture2d, Width, Height));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(9, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, Create3d(9, Texture2d, Width, Height));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Send(new VirtioGpuResourceIdCommand { Header = Header(VirtioGpuCtrlType.CtxAttachResource, Context), ResourceId = 77 }).Type);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuResourceIdCommand { Header = Header(VirtioGpuCtrlType.CtxAttachResource, Context), ResourceId = 9 }).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, ReadBack(77, new VirtioGpuBox(0, 0, 0, 1, 1, 1)));

        // Shapes and sizes: the renderer never sees them, and the quota (1 MiB) holds.
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, Create3d(2, 99, Width, Height));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, Create3d(2, Texture2d, 0, Height));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, Create3d(2, Texture2d, 1 << 20, 1));
        Assert.Equal(VirtioGpuCtrlType.ErrOutOfMemory, Create3d(2, Texture2d, 1024, 1024));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, Create3d(3, Buffer, 4096, 1));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, Create3d(3, Buffer, 4096, 1));

        // A transfer needs a backing, inside guest memory, and a box inside the resource.
        CreateTarget(4);
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, ReadBack(3, new VirtioGpuBox(0, 0, 0, 16, 1, 1)));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Attach(3, (ulong.MaxValue - 100, 64)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, ReadBack(4, new VirtioGpuBox(0, 0, 0, Width + 1, Height, 1)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, ReadBack(4, new VirtioGpuBox(0, 0, 0, Width, Height, 1), level: 3));

        // A box billions of layers deep (the renderer took seconds to refuse one: found by the
        // gpu-command-3d fuzz target) or off a 2D texture's one layer never reaches it.
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, ReadBack(4, new VirtioGpuBox(0, 0, 0, 16, 16, 0xfffffff5)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, ReadBack(4, new VirtioGpuBox(0, 0, 1, 1, 1, 1)));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Attach(3, (_gpu.Backing + 0x10000, 4096)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, ReadBack(3, new VirtioGpuBox(4000, 0, 0, 100, 1, 1)));

        // A stream longer than the request, or not whole words, or nonsense to the renderer.
        var claimsMore = new VirtioGpuCmdSubmit { Header = Header(VirtioGpuCtrlType.Submit3d, Context), StreamSize = 64 };
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Send(claimsMore, new byte[16]).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Send(claimsMore with { StreamSize = 6 }, new byte[8]).Type);
        var nonsense = new VirglCommandStream().Raw(0xfe, 3, 1, 2, 3).Raw(1, 0xffff).ToBytes();
        var header = _gpu.Send(new VirtioGpuCmdSubmit { Header = Header(VirtioGpuCtrlType.Submit3d, Context), StreamSize = (uint)nonsense.Length }, nonsense);
        Assert.True(header.Type is VirtioGpuCtrlType.OkNoData or VirtioGpuCtrlType.ErrInvalidParameter, header.Type.ToString());

        // Still serving: a clear in a fresh context works.
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuCtxCreate { Header = Header(VirtioGpuCtrlType.CtxCreate, 2) }).Type);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuResourceIdCommand { Header = Header(VirtioGpuCtrlType.CtxAttachResource, 2), ResourceId = 4 }).Type);
        var clear = new VirglCommandStream().Surface(1, 4, (uint)VirtioGpuFormat.B8G8R8X8Unorm).Framebuffer(1).ClearColor(0, 0, 1, 1).ToBytes();
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuCmdSubmit { Header = Header(VirtioGpuCtrlType.Submit3d, 2), StreamSize = (uint)clear.Length }, clear).Type);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, ReadBack(4, new VirtioGpuBox(0, 0, 0, 1, 1, 1), context: 2));
        var pixel = new byte[4];
        Assert.Equal(MemoryFault.None, _gpu.Control.Memory.Read(_gpu.Backing, pixel));
        Assert.Equal((byte)0xff, pixel[0]);
    }

    [Fact]
    public void A_second_device_cannot_take_the_renderer_and_a_reset_gives_everything_back()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new GpuDevice(new GpuDeviceOptions { Virgl = true }));
        Assert.Contains("one iovirt gpu --virgl per guest", error.Message);

        CreateTarget(5);
        Assert.NotEqual(0UL, _gpu.Device.ResourceBytes);
        _gpu.Device.Reset();
        Assert.Equal(0UL, _gpu.Device.ResourceBytes);

        // The same ids are free again: the renderer dropped them too.
        CreateTarget(5);
    }

    public void Dispose() => _gpu.Dispose();

    private static VirtioGpuCtrlHeader Header(VirtioGpuCtrlType type, uint context = 0) => new() { Type = type, CtxId = context };

    private static byte[] Bytes<T>(T value)
        where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    private VirtioGpuCtrlType Create3d(uint id, uint target, uint width, uint height) =>
        _gpu.Send(new VirtioGpuResourceCreate3d
        {
            Header = Header(VirtioGpuCtrlType.ResourceCreate3d),
            ResourceId = id,
            Target = target,
            Format = target == Buffer ? 64 : (uint)VirtioGpuFormat.B8G8R8X8Unorm, // 64: VIRGL_FORMAT_R8_UNORM
            Bind = target == Buffer ? 1U << 4 : RenderTarget, // VIRGL_BIND_VERTEX_BUFFER
            Width = width,
            Height = height,
            Depth = 1,
            ArraySize = 1,
        }).Type;

    /// <summary>A 64x32 render target with its backing at the start of the backing area, in <see cref="Context"/> (made if needed).</summary>
    private void CreateTarget(uint id)
    {
        _ = _gpu.Send(new VirtioGpuCtxCreate { Header = Header(VirtioGpuCtrlType.CtxCreate, Context) });
        Assert.Equal(VirtioGpuCtrlType.OkNoData, Create3d(id, Texture2d, Width, Height));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Attach(id, (_gpu.Backing, Width * Height * 4)));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Send(new VirtioGpuResourceIdCommand { Header = Header(VirtioGpuCtrlType.CtxAttachResource, Context), ResourceId = id }).Type);
    }

    private VirtioGpuCtrlType ReadBack(uint id, VirtioGpuBox box, uint level = 0, uint context = Context) =>
        _gpu.Send(new VirtioGpuTransferHost3d { Header = Header(VirtioGpuCtrlType.TransferFromHost3d, context), ResourceId = id, Box = box, Level = level, Stride = Width * 4 }).Type;
}

/// <summary>The process has one renderer, which serves one device at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class VirglCollection
{
    public const string Name = "virglrenderer";
}
