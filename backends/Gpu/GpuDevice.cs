using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.Virtio;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// virtio-gpu in 2D mode (virtio 1.2 §5.7): a control queue of commands, each answered in the
/// chain's writable part, and a cursor queue without answers. Both queues share one worker, so
/// commands see one state in order. Commands finish before they are answered, so a fenced
/// command's fence has signalled by then. A request too short for its command, or an unknown
/// command, gets ERR_UNSPEC; a chain with no room for the answer completes with nothing written.
/// </summary>
public sealed class GpuDevice : VirtioDeviceModel
{
    public const int ControlQueue = 0;
    public const int CursorQueue = 1;

    private readonly GpuDeviceOptions _options;
    private readonly GpuState _state;
    private readonly Displays _displays;
    private readonly byte[] _config = new byte[VirtioGpuConfig.Size];
    private readonly byte[] _request;
    private readonly byte[] _response = new byte[VirtioGpuRespEdid.Size];
    private readonly List<(ulong Address, uint Length)> _writable = [];
    private long _commands;
    private long _errors;

    public GpuDevice(GpuDeviceOptions options, IGpuDisplay? display = null)
    {
        options.Validate();
        _options = options;
        _displays = new Displays(display);
        _state = new GpuState(options, _displays);
        _request = new byte[VirtioGpuResourceAttachBacking.Size + (options.MaxBackingEntries * VirtioGpuMemEntry.Size)];
        var config = new VirtioGpuConfig { NumScanouts = (uint)options.Scanouts };
        MemoryMarshal.Write(_config, in config);
    }

    public override string Name => "gpu";

    public override ulong Features => RingFeatures | (1UL << VirtioGpuFeature.Edid);

    public override int QueueCount => 2;

    public override ReadOnlySpan<byte> ConfigSpace => _config;

    /// <summary>Control commands answered since start.</summary>
    public long Commands => Volatile.Read(ref _commands);

    /// <summary>Control commands answered with an error.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Host bytes the guest's resources take now.</summary>
    public ulong ResourceBytes => _state.ResourceBytes;

    /// <summary>The cursor's image resource (zero: hidden), scanout and position.</summary>
    public (uint Resource, uint Scanout, uint X, uint Y) Cursor => _state.Cursor;

    /// <summary>The driver acknowledges events by writing their bits to events_clear.</summary>
    public override bool WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if (offset != VirtioGpuConfig.EventsClearOffset || data.Length != sizeof(uint))
        {
            return false;
        }

        var config = MemoryMarshal.Read<VirtioGpuConfig>(_config);
        config.EventsRead &= ~LittleEndian.ToHost(MemoryMarshal.Read<uint>(data));
        MemoryMarshal.Write(_config, in config);
        return true;
    }

    public override int WorkerGroup(int queueIndex) => 0;

    /// <summary>The front end's display (vhost-user GPU_SET_SOCKET): scanouts go there from now on, besides the display given at construction.</summary>
    public override bool ConnectDisplay(SafeFileHandle socket)
    {
        _displays.Connect(new VhostUserGpuDisplay(UnixSocket.Adopt(socket)));
        return true;
    }

    public override void ProcessQueue(int queueIndex, DeviceQueue queue)
    {
        while (queue.TryPop(out var chain))
        {
            var readable = 0;
            _writable.Clear();
            while (chain.TryGetNext(out var buffer))
            {
                if (buffer.IsWritable)
                {
                    _writable.Add((buffer.GuestAddress, buffer.Length));
                }
                else if (readable < _request.Length)
                {
                    // Past the largest command the rest is ignored; the command checks its own length.
                    var take = (int)Math.Min(buffer.Length, (uint)(_request.Length - readable));
                    if (queue.Memory.Read(buffer.GuestAddress, _request.AsSpan(readable, take)) != MemoryFault.None)
                    {
                        readable = 0; // unreadable after all: answered as a request too short
                        break;
                    }

                    readable += take;
                }
            }

            if (chain.Error != QueueError.None)
            {
                return;
            }

            var written = 0U;
            if (queueIndex == ControlQueue)
            {
                var answer = Execute(queue.Memory, _request.AsSpan(0, readable));
                written = WriteAnswer(queue.Memory, _response.AsSpan(0, answer));
            }
            else
            {
                ExecuteCursor(_request.AsSpan(0, readable));
            }

            queue.AddUsed(chain.Head, written);
        }
    }

    public override void Reset() => _state.Reset();

    /// <summary>Runs one control command; returns the answer's length in <see cref="_response"/>.</summary>
    private int Execute(GuestMemory memory, ReadOnlySpan<byte> request)
    {
        Volatile.Write(ref _commands, _commands + 1);
        var header = request.Length >= VirtioGpuCtrlHeader.Size ? MemoryMarshal.Read<VirtioGpuCtrlHeader>(request) : default;
        _response.AsSpan().Clear();
        var length = VirtioGpuCtrlHeader.Size;
        var result = header.Type switch
        {
            VirtioGpuCtrlType.GetDisplayInfo => DisplayInfo(out length),
            VirtioGpuCtrlType.GetEdid when TryRead<VirtioGpuGetEdid>(request, out var c) => GetEdid(c.Scanout, out length),
            VirtioGpuCtrlType.ResourceCreate2d when TryRead<VirtioGpuResourceCreate2d>(request, out var c) => _state.Create2d(c),
            VirtioGpuCtrlType.ResourceUnref when TryRead<VirtioGpuResourceIdCommand>(request, out var c) => _state.Unref(c.ResourceId),
            VirtioGpuCtrlType.ResourceAttachBacking when TryRead<VirtioGpuResourceAttachBacking>(request, out var c) => AttachBacking(memory, c, request),
            VirtioGpuCtrlType.ResourceDetachBacking when TryRead<VirtioGpuResourceIdCommand>(request, out var c) => _state.DetachBacking(c.ResourceId),
            VirtioGpuCtrlType.SetScanout when TryRead<VirtioGpuSetScanout>(request, out var c) => _state.SetScanout(c),
            VirtioGpuCtrlType.ResourceFlush when TryRead<VirtioGpuResourceFlush>(request, out var c) => _state.Flush(c),
            VirtioGpuCtrlType.TransferToHost2d when TryRead<VirtioGpuTransferToHost2d>(request, out var c) => _state.TransferToHost2d(memory, c),
            _ => VirtioGpuCtrlType.ErrUnspec,
        };

        if (result >= VirtioGpuCtrlType.ErrUnspec)
        {
            Volatile.Write(ref _errors, _errors + 1);
            length = VirtioGpuCtrlHeader.Size;
        }

        // A fenced command's answer carries its fence back: the work is done by now.
        var answer = new VirtioGpuCtrlHeader { Type = result };
        if ((header.Flags & VirtioGpuCtrlFlags.Fence) != 0)
        {
            answer.Flags = header.Flags & (VirtioGpuCtrlFlags.Fence | VirtioGpuCtrlFlags.InfoRingIdx);
            answer.FenceId = header.FenceId;
            answer.CtxId = header.CtxId;
            answer.RingIdx = header.RingIdx;
        }

        MemoryMarshal.Write(_response, in answer);
        return length;
    }

    private VirtioGpuCtrlType DisplayInfo(out int length)
    {
        var info = default(VirtioGpuRespDisplayInfo);
        _state.DisplayInfo(info.Modes[.._options.Scanouts]);
        MemoryMarshal.Write(_response, in info);
        length = VirtioGpuRespDisplayInfo.Size;
        return VirtioGpuCtrlType.OkDisplayInfo;
    }

    private VirtioGpuCtrlType GetEdid(uint scanout, out int length)
    {
        length = VirtioGpuRespEdid.Size;
        if (!_state.IsScanout(scanout))
        {
            return VirtioGpuCtrlType.ErrInvalidScanoutId;
        }

        var (width, height) = _state.PreferredSize(scanout);
        var answer = new VirtioGpuRespEdid { EdidSize = Edid.Size };
        MemoryMarshal.Write(_response, in answer);
        Edid.Write(_response.AsSpan(VirtioGpuRespEdid.EdidOffset, Edid.Size), width, height, (int)scanout);
        return VirtioGpuCtrlType.OkEdid;
    }

    private VirtioGpuCtrlType AttachBacking(GuestMemory memory, in VirtioGpuResourceAttachBacking command, ReadOnlySpan<byte> request)
    {
        var count = command.NrEntries;
        var entries = request[VirtioGpuResourceAttachBacking.Size..];
        if (count > (uint)_options.MaxBackingEntries || (ulong)count * VirtioGpuMemEntry.Size > (ulong)entries.Length)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        return _state.AttachBacking(memory, command.ResourceId, MemoryMarshal.Cast<byte, VirtioGpuMemEntry>(entries[..((int)count * VirtioGpuMemEntry.Size)]));
    }

    private void ExecuteCursor(ReadOnlySpan<byte> request)
    {
        if (!TryRead<VirtioGpuUpdateCursor>(request, out var command))
        {
            return;
        }

        if (command.Header.Type == VirtioGpuCtrlType.UpdateCursor)
        {
            _state.UpdateCursor(command);
        }
        else if (command.Header.Type == VirtioGpuCtrlType.MoveCursor)
        {
            _state.MoveCursor(command);
        }
    }

    private static bool TryRead<T>(ReadOnlySpan<byte> request, out T value)
        where T : unmanaged
    {
        if (request.Length < Marshal.SizeOf<T>())
        {
            value = default;
            return false;
        }

        value = MemoryMarshal.Read<T>(request);
        return true;
    }

    /// <summary>The display given at construction and the front end's, if connected; both see everything.</summary>
    private sealed class Displays(IGpuDisplay? local) : IGpuDisplay
    {
        private VhostUserGpuDisplay? _remote;

        public void Connect(VhostUserGpuDisplay remote) => Interlocked.Exchange(ref _remote, remote)?.Dispose();

        public void ScanoutChanged(int scanout, uint width, uint height)
        {
            local?.ScanoutChanged(scanout, width, height);
            Volatile.Read(ref _remote)?.ScanoutChanged(scanout, width, height);
        }

        public void Flush(int scanout, GpuFrame frame, VirtioGpuRect damage)
        {
            local?.Flush(scanout, frame, damage);
            Volatile.Read(ref _remote)?.Flush(scanout, frame, damage);
        }

        public void MoveCursor(int scanout, uint x, uint y, bool visible)
        {
            local?.MoveCursor(scanout, x, y, visible);
            Volatile.Read(ref _remote)?.MoveCursor(scanout, x, y, visible);
        }

        public void SetCursor(int scanout, uint x, uint y, uint hotX, uint hotY, GpuFrame image)
        {
            local?.SetCursor(scanout, x, y, hotX, hotY, image);
            Volatile.Read(ref _remote)?.SetCursor(scanout, x, y, hotX, hotY, image);
        }

        /// <summary>The VMM's modes while its display is connected and sound; else the local display's, if it has any.</summary>
        public bool TryGetModes(Span<VirtioGpuDisplayOne> modes) =>
            Volatile.Read(ref _remote)?.TryGetModes(modes) == true || local?.TryGetModes(modes) == true;
    }

    /// <summary>Writes <paramref name="answer"/> into the chain's writable buffers, in order, if it fits; the bytes written (zero when it does not).</summary>
    private uint WriteAnswer(GuestMemory memory, ReadOnlySpan<byte> answer)
    {
        var room = 0UL;
        foreach (var (_, length) in _writable)
        {
            room += length;
        }

        if (room < (ulong)answer.Length)
        {
            return 0;
        }

        var written = 0;
        foreach (var (address, length) in _writable)
        {
            var take = (int)Math.Min(length, (uint)(answer.Length - written));
            if (take == 0 || memory.Write(address, answer.Slice(written, take)) != MemoryFault.None)
            {
                break;
            }

            written += take;
        }

        return (uint)written;
    }
}
