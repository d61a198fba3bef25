using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// Both ends of a GPU served over vhost-user, for the tests: the guest's control commands on a
/// front-end ring, and the VMM's display end of the vhost-user-gpu socket.
/// </summary>
internal static class GpuWire
{
    public static VirtioGpuCtrlHeader Header(VirtioGpuCtrlType type) => new() { Type = type };

    /// <summary>Sends one command from <paramref name="scratch"/> in guest memory and checks it is answered OK_NODATA.</summary>
    public static void Command<T>(GuestMemory memory, FrontendQueue queue, ulong scratch, T command, ReadOnlySpan<byte> trailer = default)
        where T : unmanaged
    {
        if (Answer(memory, queue, scratch, command, trailer) is var answer and not VirtioGpuCtrlType.OkNoData)
        {
            Assert.Fail($"{typeof(T).Name} was answered {answer}");
        }
    }

    /// <summary>Sends one command from <paramref name="scratch"/> in guest memory and returns the type of its header-only answer.</summary>
    public static VirtioGpuCtrlType Answer<T>(GuestMemory memory, FrontendQueue queue, ulong scratch, T command, ReadOnlySpan<byte> trailer = default)
        where T : unmanaged
    {
        // Nothing here allocates (so no xunit Assert.Equal, whose comparers do): a guest drawing
        // in a loop must not bring on the test host's garbage collections, whose pauses would
        // land in the frame times measured beside it.
        var answer = scratch + 0x8000;
        var size = (uint)Unsafe.SizeOf<T>();
        if (memory.Write(scratch, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in command))) != MemoryFault.None || memory.Write(scratch + size, trailer) != MemoryFault.None)
        {
            Assert.Fail("the command does not fit the scratch area");
        }

        Assert.True(queue.Driver.TryAdd([new DriverBuffer(scratch, size + (uint)trailer.Length, false), new DriverBuffer(answer, 64, true)], false, out var id));
        queue.Submit();
        if (!queue.TryWaitUsed(out var used, out var written, 30_000))
        {
            Assert.Fail($"{typeof(T).Name} was not answered");
        }

        if (used != id)
        {
            Assert.Fail($"{typeof(T).Name} was answered on id {used} (sent {id})");
        }

        return HeaderAnswer(memory, answer, written, typeof(T).Name);
    }

    /// <summary>The type of a header-only answer at <paramref name="answer"/>, <paramref name="written"/> bytes long as the device said; fails on any other length.</summary>
    public static VirtioGpuCtrlType HeaderAnswer(GuestMemory memory, ulong answer, uint written, string what)
    {
        var read = memory.Read(answer, out VirtioGpuCtrlHeader header);
        if (written != 24 || read != MemoryFault.None)
        {
            Assert.Fail($"{what} was answered with {written} bytes (a header is 24)");
        }

        return header.Type;
    }

    /// <summary>
    /// What a guest does to show a <paramref name="width"/> by <paramref name="height"/> picture of
    /// <paramref name="pixels"/> (in <paramref name="format"/>) on scanout 0: create, attach backing
    /// at <paramref name="backing"/>, transfer, set the scanout, flush.
    /// </summary>
    public static void ShowPicture(GuestMemory memory, FrontendQueue queue, ulong scratch, ulong backing, uint width, uint height, byte[] pixels, VirtioGpuFormat format = VirtioGpuFormat.R8G8B8A8Unorm)
    {
        Assert.Equal(MemoryFault.None, memory.Write(backing, pixels));
        var rect = new VirtioGpuRect(0, 0, width, height);
        Command(memory, queue, scratch, new VirtioGpuResourceCreate2d { Header = Header(VirtioGpuCtrlType.ResourceCreate2d), ResourceId = 3, Format = format, Width = width, Height = height });
        Command(memory, queue, scratch, new VirtioGpuResourceAttachBacking { Header = Header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = 3, NrEntries = 1 }, MemoryMarshal.AsBytes([new VirtioGpuMemEntry { Addr = backing, Length = (uint)pixels.Length }]));
        Command(memory, queue, scratch, new VirtioGpuTransferToHost2d { Header = Header(VirtioGpuCtrlType.TransferToHost2d), ResourceId = 3, Rect = rect });
        Command(memory, queue, scratch, new VirtioGpuSetScanout { Header = Header(VirtioGpuCtrlType.SetScanout), ScanoutId = 0, ResourceId = 3, Rect = rect });
        Command(memory, queue, scratch, new VirtioGpuResourceFlush { Header = Header(VirtioGpuCtrlType.ResourceFlush), ResourceId = 3, Rect = rect });
    }

    /// <summary>RESOURCE_CREATE_3D of a <paramref name="width"/> by <paramref name="height"/> R8G8B8A8 2D texture a context can render to.</summary>
    public static VirtioGpuResourceCreate3d RenderTarget(uint id, uint width, uint height) => new()
    {
        Header = Header(VirtioGpuCtrlType.ResourceCreate3d),
        ResourceId = id,
        Target = 2, // PIPE_TEXTURE_2D
        Format = (uint)VirtioGpuFormat.R8G8B8A8Unorm,
        Bind = 1 << 1, // VIRGL_BIND_RENDER_TARGET
        Width = width,
        Height = height,
        Depth = 1,
        ArraySize = 1,
    };

    /// <summary>
    /// What a guest's 3D driver does to clear a <paramref name="width"/> by <paramref name="height"/>
    /// R8G8B8A8 render target to <paramref name="color"/> and read it back: context 1, resource 1
    /// with its backing at <paramref name="backing"/>, a fenced virgl CLEAR, TRANSFER_FROM_HOST_3D.
    /// Returns the backing's pixels.
    /// </summary>
    public static byte[] RenderClear(GuestMemory memory, FrontendQueue queue, ulong scratch, ulong backing, uint width, uint height, (float Red, float Green, float Blue, float Alpha) color)
    {
        var context = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.CtxCreate, CtxId = 1 };
        Command(memory, queue, scratch, new VirtioGpuCtxCreate { Header = context });
        Command(memory, queue, scratch, RenderTarget(1, width, height));
        Command(memory, queue, scratch, new VirtioGpuResourceAttachBacking { Header = Header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = 1, NrEntries = 1 }, MemoryMarshal.AsBytes([new VirtioGpuMemEntry { Addr = backing, Length = width * height * 4 }]));
        Command(memory, queue, scratch, new VirtioGpuResourceIdCommand { Header = context with { Type = VirtioGpuCtrlType.CtxAttachResource }, ResourceId = 1 });
        var stream = new VirglCommandStream().Surface(1, 1, (uint)VirtioGpuFormat.R8G8B8A8Unorm).Framebuffer(1).ClearColor(color.Red, color.Green, color.Blue, color.Alpha).ToBytes();
        Command(memory, queue, scratch, new VirtioGpuCmdSubmit { Header = context with { Type = VirtioGpuCtrlType.Submit3d, Flags = VirtioGpuCtrlFlags.Fence, FenceId = 1 }, StreamSize = (uint)stream.Length }, stream);
        Command(memory, queue, scratch, new VirtioGpuTransferHost3d { Header = context with { Type = VirtioGpuCtrlType.TransferFromHost3d }, ResourceId = 1, Box = new VirtioGpuBox(0, 0, 0, width, height, 1), Stride = width * 4 });
        var pixels = new byte[width * height * 4];
        Assert.Equal(MemoryFault.None, memory.Read(backing, pixels));
        return pixels;
    }

    /// <summary>
    /// <see cref="ShowPicture"/> on a thread of its own while this plays the display with
    /// <see cref="ReceivePicture"/>: the device negotiates with the display before its first
    /// message, so the display must answer while the guest's commands wait. Returns what the
    /// display received; <paramref name="context"/> goes into the failure message.
    /// </summary>
    public static (VhostUserGpuScanout Scanout, VhostUserGpuUpdate Update, byte[] Pixels) ShowPictureTo(
        UnixSocket display, GuestMemory memory, FrontendQueue queue, ulong scratch, ulong backing, uint width, uint height, byte[] pixels, string context, VirtioGpuFormat format = VirtioGpuFormat.R8G8B8A8Unorm)
    {
        Exception? failed = null;
        var guest = new Thread(() => failed = Record.Exception(() => ShowPicture(memory, queue, scratch, backing, width, height, pixels, format)));
        guest.Start();
        var received = ReceivePicture(display);
        Assert.True(guest.Join(10_000), $"the commands were not answered {context}");
        Assert.Null(failed);
        return received;
    }

    /// <summary>
    /// A VM-free guest and VMM on the back end at <paramref name="socket"/>: connects with 2 MiB of
    /// guest memory, hands over the display socket, starts the control queue and shows the
    /// picture (<see cref="ShowPictureTo"/>); <paramref name="whileConnected"/> runs before the
    /// guest goes. Returns what the display received.
    /// </summary>
    public static (VhostUserGpuScanout Scanout, byte[] Pixels) ShowThrough(
        string socket, uint width, uint height, byte[] pixels, string context, VirtioGpuFormat format = VirtioGpuFormat.R8G8B8A8Unorm, Action? whileConnected = null)
    {
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 2 << 20));
        using var frontend = VhostUserFrontend.Connect(socket);
        var (backEndSide, display) = UnixSocket.Pair();
        using (display)
        {
            using (backEndSide)
            {
                frontend.SetGpuSocket(backEndSide);
            }

            using var queue = FirstRing.Start(frontend, memory);
            var (scanout, _, shown) = ShowPictureTo(display, memory, queue, VhostUserTestBed.MemoryBase + 0x8_0000, VhostUserTestBed.MemoryBase + 0x10_0000, width, height, pixels, context, format);
            whileConnected?.Invoke();
            return (scanout, shown);
        }
    }

    /// <summary>A picture whose every byte differs from its neighbours'.</summary>
    public static byte[] Picture(uint width, uint height)
    {
        var pixels = new byte[width * height * 4];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = unchecked((byte)i);
        }

        return pixels;
    }

    /// <summary>
    /// Plays the VMM's display until it has seen SCANOUT and UPDATE: answers the protocol-feature
    /// negotiation as QEMU does, and returns the scanout's size and the update's pixels.
    /// </summary>
    public static (VhostUserGpuScanout Scanout, VhostUserGpuUpdate Update, byte[] Pixels) ReceivePicture(UnixSocket display)
    {
        AnswerNegotiation(display);
        var (request, payload) = Receive(display);
        Assert.Equal(VhostUserGpuRequest.Scanout, request);
        var scanout = MemoryMarshal.Read<VhostUserGpuScanout>(payload);
        (request, payload) = Receive(display);
        Assert.Equal(VhostUserGpuRequest.Update, request);
        return (scanout, MemoryMarshal.Read<VhostUserGpuUpdate>(payload), payload[VhostUserGpuUpdate.Size..]);
    }

    /// <summary>Checks R8G8B8A8 <paramref name="picture"/> arrived as x8r8g8b8 words (blue first, then 0xff).</summary>
    public static void AssertShownAsX8R8G8B8(byte[] picture, byte[] shown)
    {
        Assert.Equal(picture.Length, shown.Length);
        for (var i = 0; i < picture.Length; i += 4)
        {
            Assert.Equal([picture[i + 2], picture[i + 1], picture[i], 0xff], shown.AsSpan(i, 4).ToArray());
        }
    }

    /// <summary>Plays the VMM's part of the protocol-feature negotiation, as QEMU does: offers none, and checks the device takes none.</summary>
    public static void AnswerNegotiation(UnixSocket display)
    {
        Assert.Equal(VhostUserGpuRequest.GetProtocolFeatures, Receive(display).Request);
        Reply(display, VhostUserGpuRequest.GetProtocolFeatures, new byte[8]);
        var (request, payload) = Receive(display);
        Assert.Equal((VhostUserGpuRequest.SetProtocolFeatures, 0UL), (request, MemoryMarshal.Read<ulong>(payload)));
    }

    /// <summary>Sends the VMM's reply to <paramref name="request"/>.</summary>
    public static void Reply(UnixSocket display, VhostUserGpuRequest request, ReadOnlySpan<byte> payload)
    {
        var header = new VhostUserHeader { Request = (uint)request, Flags = VhostUserHeaderFlags.Reply, PayloadSize = (uint)payload.Length };
        display.Send([.. MemoryMarshal.AsBytes([header]), .. payload]);
    }

    /// <summary>The device's next message on the display socket.</summary>
    public static (VhostUserGpuRequest Request, byte[] Payload) Receive(UnixSocket display)
    {
        var header = new byte[VhostUserHeader.Size];
        ReceiveExactly(display, header);
        var parsed = MemoryMarshal.Read<VhostUserHeader>(header);
        Assert.Equal(VhostUserHeaderFlags.None, parsed.Flags);
        var payload = new byte[parsed.PayloadSize];
        ReceiveExactly(display, payload);
        return ((VhostUserGpuRequest)parsed.Request, payload);
    }

    private static void ReceiveExactly(UnixSocket socket, Span<byte> buffer)
    {
        Span<SafeFileHandle?> fds = new SafeFileHandle?[UnixSocket.MaxFds];
        while (!buffer.IsEmpty)
        {
            var read = socket.Receive(buffer, fds, out _);
            Assert.True(read > 0, "the display socket closed");
            buffer = buffer[read..];
        }
    }
}
