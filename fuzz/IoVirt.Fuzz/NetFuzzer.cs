using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;

namespace IoVirt.Fuzz;

/// <summary>
/// The <c>net-tx-header</c> target: the transmit header check over arbitrary packets. Byte 0
/// picks the negotiated offloads, bytes 1-2 the MTU; the rest is the packet (header and frame).
/// A packet the check accepts must have its checksum field inside the frame, stay within its
/// size limit, and take a software checksum without a fault.
/// </summary>
public static class NetTxHeaderTarget
{
    public const string Name = "net-tx-header";

    public static bool Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 3)
        {
            return false;
        }

        var offloads = (NetOffloads)(input[0] & 0xf);
        var mtu = 68 + (BinaryPrimitives.ReadUInt16LittleEndian(input[1..]) % (65535 - 68));
        var check = new NetTransmitCheck(offloads, NetTransmitCheck.FrameFor(mtu));
        var packet = input[3..];
        if (check.Check(packet) != NetTxVerdict.Valid)
        {
            return false;
        }

        var frame = packet[VirtioNetHdr.Size..].ToArray();
        var segmented = packet[VirtioNetHdr.GsoTypeOffset] != 0;
        if (frame.Length > (segmented ? NetTransmitCheck.MaxSegmentedFrame : check.MaxFrame))
        {
            throw new FuzzInvariantException($"a {frame.Length}-byte frame passed with MTU {mtu}");
        }

        if ((packet[VirtioNetHdr.FlagsOffset] & (byte)VirtioNetHdrFlags.NeedsCsum) != 0)
        {
            var start = BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.CsumStartOffset..]);
            var offset = BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.CsumOffsetOffset..]);
            if ((offloads & NetOffloads.Csum) == 0 || start + offset + 2 > frame.Length)
            {
                throw new FuzzInvariantException($"checksum at {start}+{offset} passed for a {frame.Length}-byte frame with offloads {offloads}");
            }

            InternetChecksum.Complete(frame, start, offset);
        }

        return true;
    }

    /// <summary>Seeds: plain, checksummed and segmented packets.</summary>
    public static int WriteSeeds(string directory)
    {
        var frame = new byte[VirtioNetHdr.Size + 100];
        byte[][] seeds =
        [
            [0, 0xdc, 0x05, .. frame],
            [1, 0xdc, 0x05, (byte)VirtioNetHdrFlags.NeedsCsum, 0, 0, 0, 0, 0, 34, 0, 6, 0, 0, 0, .. frame[VirtioNetHdr.Size..]],
            [0xf, 0xdc, 0x05, (byte)VirtioNetHdrFlags.NeedsCsum, (byte)VirtioNetGsoType.TcpV4, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0, .. frame[VirtioNetHdr.Size..]],
        ];
        return SeedFiles.Write(directory, "seed", seeds);
    }
}

/// <summary>
/// The <c>net-ctrl</c> target: control-queue commands over arbitrary bytes. Bytes 0-7 are the
/// negotiated features; then commands, each a length byte and that many bytes (class, command,
/// data). The queue-pair count must stay within its limits, and the filter must judge frames
/// without a fault whatever the commands did.
/// </summary>
public static class NetControlTarget
{
    public const string Name = "net-ctrl";
    private const int MaxPairs = 4;

    public static int Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 8)
        {
            return 0;
        }

        var filter = new NetReceiveFilter(MacAddress.Read([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
        var control = new NetControl(filter, MaxPairs) { Negotiated = BinaryPrimitives.ReadUInt64LittleEndian(input) };
        filter.VlanFiltering = (control.Negotiated & VirtioFeature.Bit(VirtioNetFeature.CtrlVlan)) != 0;
        var rest = input[8..];
        var ok = 0;
        while (!rest.IsEmpty)
        {
            var length = Math.Min(rest[0], rest.Length - 1);
            if (control.Execute(rest.Slice(1, length)) == VirtioNetCtrlAck.Ok)
            {
                ok++;
            }

            rest = rest[(1 + length)..];
            if (control.ActivePairs is < 1 or > MaxPairs)
            {
                throw new FuzzInvariantException($"{control.ActivePairs} queue pairs active of {MaxPairs}");
            }
        }

        Span<byte> frame = stackalloc byte[64];
        for (var i = 0; i < 4; i++)
        {
            input[..Math.Min(input.Length, 64)].CopyTo(frame);
            frame[0] = (byte)(frame[0] & 0xfe | (i & 1));
            _ = filter.Accepts(frame);
        }

        return ok;
    }

    /// <summary>Seeds: every command class with valid data under every control feature.</summary>
    public static int WriteSeeds(string directory)
    {
        var features = BitConverter.GetBytes(ulong.MaxValue);
        byte[][] seeds =
        [
            [.. features, 3, 0, 0, 0, 3, 0, 1, 1],
            [.. features, 16, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 9, 0, 0, 0, 0],
            [.. features, 8, 1, 1, 2, 0x11, 0x22, 0x33, 0x44, 0x55],
            [.. features, 4, 2, 0, 5, 0, 4, 2, 1, 5, 0],
            [.. features, 4, 4, 0, 2, 0, 10, 5, 0, 3, 0, 0, 0, 0, 0, 0, 0],
        ];
        return SeedFiles.Write(directory, "seed", seeds);
    }
}

/// <summary>
/// The <c>net-device-split</c> and <c>net-device-packed</c> targets: a whole network device with
/// an echo port over rings built from the input (the chain targets' header and image). The ring
/// is served as the transmit queue, then a second ring over the same memory as the receive
/// queue, which takes the echoed frames; neither may throw.
/// </summary>
public static class NetDeviceFuzzer
{
    private static readonly EchoPort Port = new(1, NetTransmitCheck.FrameFor(1500));
    private static readonly NetDevice Device = new(Port, new NetDeviceOptions());

    public static void Execute(ReadOnlySpan<byte> input, bool packed)
    {
        var header = FuzzHeader.Parse(input);
        var image = input.Length > FuzzHeader.Size ? input[FuzzHeader.Size..] : [];
        using var space = FuzzMemory.Build(header, image);
        // The batch selector's low bit also picks mergeable receive buffers or not.
        var mergeable = (header.BatchSize & 1) == 0 ? VirtioFeature.Bit(VirtioNetFeature.MrgRxbuf) : 0;
        Device.FeaturesNegotiated((Device.Features & ~VirtioFeature.Bit(VirtioNetFeature.MrgRxbuf)) | mergeable);
        for (var q = 1; q >= 0; q--)
        {
            var queue = header.CreateQueue(space.Memory, packed);
            if (queue is null)
            {
                return;
            }

            Device.ProcessQueue(q, queue);
            Device.QuiesceQueue(q, queue);
            queue.PublishUsed();
        }

        // Also empties the echo of what the receive ring could not take, so runs stay independent.
        Device.Reset();
    }
}

/// <summary>The <c>net-device-split</c> target.</summary>
public static class NetSplitDeviceTarget
{
    public const string Name = "net-device-split";

    public static void Run(ReadOnlySpan<byte> input) => NetDeviceFuzzer.Execute(input, packed: false);
}

/// <summary>The <c>net-device-packed</c> target.</summary>
public static class NetPackedDeviceTarget
{
    public const string Name = "net-device-packed";

    public static void Run(ReadOnlySpan<byte> input) => NetDeviceFuzzer.Execute(input, packed: true);
}
