using System.Buffers.Binary;
using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;
using IoVirt.Testing;

namespace IoVirt.Fuzz;

/// <summary>
/// The <c>gpu-command</c> target: a guest's sequence of control commands, each a 2-byte length and
/// that many request bytes, sent through a real ring to one <see cref="GpuDevice"/>; whatever
/// bytes are left fill the guest memory that backing entries point into. Every command must be
/// answered (a header at least), and what the device shows must stay inside the frame it hands
/// out. The device starts each run fresh. <see cref="Gpu3dCommandTarget"/> runs the same with 3D.
/// </summary>
public static class GpuCommandTarget
{
    public const string Name = "gpu-command";

    /// <summary>Requests and answers use the first 128 KiB of the data area; backing pages the rest.</summary>
    public const ulong BackingOffset = 128 << 10;

    private const int MaxCommands = 64;

    /// <summary>Room for any answer: display info, an EDID or a capset.</summary>
    private const uint AnswerRoom = 8192;

    /// <summary>Runs the input; returns how many commands the device accepted (answered OK).</summary>
    public static int Run(ReadOnlySpan<byte> input) => Run(input, virgl: false);

    /// <summary>
    /// Runs the input on a device with or without 3D; with it, the device must also leave the
    /// renderer holding nothing of the guest's once reset.
    /// </summary>
    public static int Run(ReadOnlySpan<byte> input, bool virgl)
    {
        using var harness = NewHarness();
        using var device = new GpuDevice(new GpuDeviceOptions { Scanouts = 2, MaxResourceBytes = 4 << 20, MaxBackingEntries = 256, Virgl = virgl, FenceTimeout = TimeSpan.FromSeconds(2) }, new ReadingDisplay());
        var commands = new List<byte[]>();
        var at = 0;
        while (commands.Count < MaxCommands && at + 2 <= input.Length)
        {
            var length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(input[at..]) % 8192, input.Length - at - 2);
            commands.Add(input.Slice(at + 2, length).ToArray());
            at += 2 + length;
        }

        var rest = input[at..];
        _ = harness.Memory.Write(harness.DataBase + BackingOffset, rest[..Math.Min(rest.Length, (int)(harness.DataBytes - BackingOffset))]);
        var accepted = 0;
        foreach (var command in commands)
        {
            var answer = Send(harness, device, command);
            if (answer.Length < VirtioGpuCtrlHeader.Size)
            {
                throw new FuzzInvariantException($"a {command.Length}-byte command got a {answer.Length}-byte answer");
            }

            accepted += MemoryMarshal.Read<VirtioGpuCtrlHeader>(answer).Type < VirtioGpuCtrlType.ErrUnspec ? 1 : 0;
        }

        device.Reset();
        if (device.ResourceBytes != 0)
        {
            throw new FuzzInvariantException($"{device.ResourceBytes} resource bytes held after a reset");
        }

        return accepted;
    }

    /// <summary>Seeds: a guest that creates a resource, backs it, draws, shows and flushes it, and a few single commands.</summary>
    public static int WriteSeeds(string directory) => SeedFiles.Write(directory, "gpu", Seeds());

    public static IEnumerable<byte[]> Seeds()
    {
        var header = static (VirtioGpuCtrlType type) => new VirtioGpuCtrlHeader { Type = type };
        var backing = BackingAddress();

        var drawing = new List<byte[]>
        {
            Bytes(new VirtioGpuResourceCreate2d { Header = header(VirtioGpuCtrlType.ResourceCreate2d), ResourceId = 1, Format = VirtioGpuFormat.B8G8R8X8Unorm, Width = 16, Height = 16 }),
            Bytes(new VirtioGpuResourceAttachBacking { Header = header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = 1, NrEntries = 1 }).Concat(Bytes(new VirtioGpuMemEntry { Addr = backing, Length = 1024 })).ToArray(),
            Bytes(new VirtioGpuTransferToHost2d { Header = header(VirtioGpuCtrlType.TransferToHost2d), ResourceId = 1, Rect = new VirtioGpuRect(0, 0, 16, 16) }),
            Bytes(new VirtioGpuSetScanout { Header = header(VirtioGpuCtrlType.SetScanout), ResourceId = 1, ScanoutId = 0, Rect = new VirtioGpuRect(0, 0, 16, 16) }),
            Bytes(new VirtioGpuResourceFlush { Header = header(VirtioGpuCtrlType.ResourceFlush), ResourceId = 1, Rect = new VirtioGpuRect(0, 0, 16, 16) }),
            Bytes(new VirtioGpuResourceIdCommand { Header = header(VirtioGpuCtrlType.ResourceUnref), ResourceId = 1 }),
        };
        yield return Sequence(drawing);
        yield return Sequence([Bytes(header(VirtioGpuCtrlType.GetDisplayInfo))]);
        yield return Sequence([Bytes(new VirtioGpuGetEdid { Header = header(VirtioGpuCtrlType.GetEdid), Scanout = 1 })]);
    }

    /// <summary>The guest address backing entries point at.</summary>
    public static ulong BackingAddress()
    {
        using var harness = NewHarness();
        return harness.DataBase + BackingOffset;
    }

    /// <summary>Commands as one input: each a 2-byte length and its bytes.</summary>
    public static byte[] Sequence(List<byte[]> commands)
    {
        var bytes = new List<byte>();
        foreach (var command in commands)
        {
            bytes.Add((byte)(command.Length & 0xff));
            bytes.Add((byte)(command.Length >> 8));
            bytes.AddRange(command);
        }

        return [.. bytes];
    }

    public static byte[] Bytes<T>(T value)
        where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    private static QueueHarness NewHarness() => QueueHarness.Create(packed: false, 8, dataBytes: 1 << 20);

    private static byte[] Send(QueueHarness harness, GpuDevice device, byte[] request)
    {
        var requestAt = harness.DataBase;
        var answerAt = harness.DataBase + (64 << 10);
        _ = harness.Memory.Write(requestAt, request);
        if (!harness.Driver.TryAdd([new(requestAt, (uint)Math.Max(request.Length, 1), false), new(answerAt, AnswerRoom, true)], false, out _))
        {
            throw new FuzzInvariantException("the ring did not take a command: an earlier one was never completed");
        }

        harness.Driver.PublishAvail();
        device.ProcessQueue(GpuDevice.ControlQueue, harness.Device);
        harness.Device.PublishUsed();
        if (!harness.Driver.TryTakeUsed(out _, out var written))
        {
            throw new FuzzInvariantException("a command was not completed");
        }

        var answer = new byte[written];
        _ = harness.Memory.Read(answerAt, answer);
        return answer;
    }

    /// <summary>Touches every pixel row of every frame it is shown, so a frame that reaches outside its resource throws.</summary>
    private sealed class ReadingDisplay : IGpuDisplay
    {
        /// <summary>None of its own: the configured size stands.</summary>
        public bool TryGetModes(Span<VirtioGpuDisplayOne> modes) => false;

        public void ScanoutChanged(int scanout, uint width, uint height)
        {
        }

        public void MoveCursor(int scanout, uint x, uint y, bool visible)
        {
        }

        public void SetCursor(int scanout, uint x, uint y, uint hotX, uint hotY, GpuFrame image)
        {
            if (image.Width != 64 || image.Height != 64 || image.Pixels.Length < 64 * 64 * 4)
            {
                throw new FuzzInvariantException($"a {image.Width}x{image.Height} cursor image");
            }
        }

        public void Flush(int scanout, GpuFrame frame, VirtioGpuRect damage)
        {
            var sum = 0;
            for (var y = 0; y < frame.Height; y++)
            {
                foreach (var b in frame.Pixels.Slice(y * frame.Stride, (int)frame.Width * 4))
                {
                    sum += b;
                }
            }

            if (damage.X + (ulong)damage.Width > frame.Width || damage.Y + (ulong)damage.Height > frame.Height || sum < 0)
            {
                throw new FuzzInvariantException($"damage {damage.X},{damage.Y} {damage.Width}x{damage.Height} outside a {frame.Width}x{frame.Height} frame");
            }
        }
    }
}
