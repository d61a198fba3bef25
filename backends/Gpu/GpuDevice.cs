using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Backends.Gpu.Virgl;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// virtio-gpu (virtio 1.2 §5.7): a control queue of commands, each answered in the chain's
/// writable part, and a cursor queue without answers. Both queues share one worker, so commands
/// see one state in order. Commands finish before they are answered, so a fenced command's fence
/// has signalled by then (with 3D, the GPU has retired all work before it). A request too short
/// for its command, or an unknown command, gets ERR_UNSPEC; a chain with no room for the answer
/// completes with nothing written. With <see cref="GpuDeviceOptions.Virgl"/> the 3D commands go to
/// virglrenderer, on its thread; 2D resources stay here, and a 3D resource on a scanout is read
/// back for the display. With <see cref="IGpuTurns"/> (a GPU other guests share) each 3D submission
/// and transfer runs in this guest's turn, which ends once its fence retires.
/// </summary>
public sealed class GpuDevice : VirtioDeviceModel, IDisposable
{
    public const int ControlQueue = 0;
    public const int CursorQueue = 1;

    private readonly GpuDeviceOptions _options;
    private readonly ResourceQuota _quota;
    private readonly GpuState _state;
    private readonly Displays _displays;
    private readonly byte[] _config = new byte[VirtioGpuConfig.Size];
    private readonly byte[] _request;
    private readonly byte[] _response;
    private readonly List<(ulong Address, uint Length)> _writable = [];
    private readonly VirglRenderer? _renderer;
    private readonly VirglState? _virgl;
    private readonly VirglCapsets? _capsets;
    private readonly Action? _processOnRenderer;
    private readonly Action? _resetOnRenderer;
    private readonly IGpuTurns? _turns;
    private (int Index, DeviceQueue? Queue) _pending;
    private long _commands;
    private long _errors;

    /// <summary>
    /// A device; with <see cref="GpuDeviceOptions.Virgl"/> it claims the process's renderer until
    /// disposed (throws when that cannot start or serves another guest), and its 3D work waits for
    /// <paramref name="turns"/> where given.
    /// </summary>
    public GpuDevice(GpuDeviceOptions options, IGpuDisplay? display = null, IGpuTurns? turns = null)
    {
        options.Validate();
        _options = options;
        _turns = turns;
        _displays = new Displays(display);
        _quota = new ResourceQuota(options.MaxResourceBytes);
        _state = new GpuState(options, _displays, _quota);
        var requestBytes = VirtioGpuResourceAttachBacking.Size + (options.MaxBackingEntries * VirtioGpuMemEntry.Size);
        var responseBytes = VirtioGpuRespEdid.Size;
        var config = new VirtioGpuConfig { NumScanouts = (uint)options.Scanouts };
        if (options.Virgl)
        {
            _renderer = VirglRenderer.Shared;
            _renderer.Claim(this);
            _virgl = new VirglState(_renderer, options, _quota);
            VirglCapsets? capsets = null;
            _renderer.Invoke(() => capsets = VirglCapsets.Query());
            _capsets = capsets!;
            _processOnRenderer = () => ProcessQueueHere(_pending.Index, _pending.Queue!);
            _resetOnRenderer = _virgl.Reset;
            config.NumCapsets = (uint)_capsets.Count;
            requestBytes = Math.Max(requestBytes, VirtioGpuCmdSubmit.Size + options.MaxSubmitBytes);
            responseBytes = Math.Max(responseBytes, VirtioGpuCtrlHeader.Size + _capsets.MaxSize);
        }

        _request = new byte[requestBytes];
        _response = new byte[responseBytes];
        MemoryMarshal.Write(_config, in config);
    }

    public override string Name => "gpu";

    public override ulong Features => RingFeatures | (1UL << VirtioGpuFeature.Edid) | (_virgl is null ? 0 : 1UL << VirtioGpuFeature.Virgl);

    public override int QueueCount => 2;

    public override ReadOnlySpan<byte> ConfigSpace => _config;

    /// <summary>Control commands answered since start.</summary>
    public long Commands => Volatile.Read(ref _commands);

    /// <summary>Control commands answered with an error.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Bytes the guest's resources count for now, 2D and 3D.</summary>
    public ulong ResourceBytes => _quota.Used;

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
        if (_renderer is null)
        {
            ProcessQueueHere(queueIndex, queue);
            return;
        }

        _pending = (queueIndex, queue);
        try
        {
            _renderer.Invoke(_processOnRenderer!);
        }
        finally
        {
            _pending = default;
        }
    }

    /// <summary>The control queue stops: what it holds is not run until it starts again, so the guest does not ask for turns meanwhile.</summary>
    public override void QuiesceQueue(int queueIndex, DeviceQueue queue)
    {
        if (queueIndex == ControlQueue)
        {
            _turns?.Withdraw();
        }
    }

    public override void Reset()
    {
        _turns?.Withdraw();
        _state.Reset();
        if (_renderer is not null)
        {
            _renderer.Invoke(_resetOnRenderer!);
        }
    }

    /// <summary>Gives the guest's 3D state back to the renderer and releases it for another device.</summary>
    public void Dispose()
    {
        if (_renderer is not null)
        {
            _renderer.Invoke(_resetOnRenderer!);
            _renderer.Release(this);
        }
    }

    private void ProcessQueueHere(int queueIndex, DeviceQueue queue)
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
                var answer = Execute(queue, _request.AsSpan(0, readable));
                written = WriteAnswer(queue.Memory, _response.AsSpan(0, answer));
            }
            else
            {
                ExecuteCursor(_request.AsSpan(0, readable));
            }

            queue.AddUsed(chain.Head, written);
            if (queueIndex == ControlQueue)
            {
                // One command per call: its answer is published and signalled before the next one
                // starts. GPU work takes milliseconds, so a guest with several commands queued sees
                // each fence as it retires, not when the last one does, and refills its queue
                // while the next runs; the worker comes back at once for the rest.
                return;
            }
        }
    }

    /// <summary>Runs one control command of <paramref name="queue"/>; returns the answer's length in <see cref="_response"/>.</summary>
    private int Execute(DeviceQueue queue, ReadOnlySpan<byte> request)
    {
        var memory = queue.Memory;
        Volatile.Write(ref _commands, _commands + 1);
        var header = request.Length >= VirtioGpuCtrlHeader.Size ? MemoryMarshal.Read<VirtioGpuCtrlHeader>(request) : default;
        _response.AsSpan().Clear();
        var length = VirtioGpuCtrlHeader.Size;
        var result = header.Type switch
        {
            VirtioGpuCtrlType.GetDisplayInfo => DisplayInfo(out length),
            VirtioGpuCtrlType.GetEdid when TryRead<VirtioGpuGetEdid>(request, out var c) => GetEdid(c.Scanout, out length),
            VirtioGpuCtrlType.ResourceCreate2d when TryRead<VirtioGpuResourceCreate2d>(request, out var c) => Create2d(c),
            VirtioGpuCtrlType.ResourceUnref when TryRead<VirtioGpuResourceIdCommand>(request, out var c) => Unref(c.ResourceId),
            VirtioGpuCtrlType.ResourceAttachBacking when TryRead<VirtioGpuResourceAttachBacking>(request, out var c) => AttachBacking(memory, c, request),
            VirtioGpuCtrlType.ResourceDetachBacking when TryRead<VirtioGpuResourceIdCommand>(request, out var c) => Is3d(c.ResourceId) ? _virgl!.DetachBacking(c.ResourceId) : _state.DetachBacking(c.ResourceId),
            VirtioGpuCtrlType.SetScanout when TryRead<VirtioGpuSetScanout>(request, out var c) => SetScanout(c),
            VirtioGpuCtrlType.ResourceFlush when TryRead<VirtioGpuResourceFlush>(request, out var c) => Flush(c),
            VirtioGpuCtrlType.TransferToHost2d when TryRead<VirtioGpuTransferToHost2d>(request, out var c) => TransferToHost2d(memory, c),
            _ when _virgl is not null => Execute3d(queue, header, request, ref length),
            _ => VirtioGpuCtrlType.ErrUnspec,
        };

        if (_virgl is not null && (header.Flags & VirtioGpuCtrlFlags.Fence) != 0 && !_virgl.Fence())
        {
            result = VirtioGpuCtrlType.ErrUnspec; // the GPU did not finish in time
        }

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

    /// <summary>The 3D commands (renderer thread); the answer's length in <paramref name="length"/> when it has data.</summary>
    private VirtioGpuCtrlType Execute3d(DeviceQueue queue, in VirtioGpuCtrlHeader header, ReadOnlySpan<byte> request, ref int length)
    {
        var virgl = _virgl!;
        switch (header.Type)
        {
            case VirtioGpuCtrlType.GetCapsetInfo when TryRead<VirtioGpuGetCapsetInfo>(request, out var c):
                length = VirtioGpuRespCapsetInfo.Size;
                return _capsets!.Info(c.CapsetIndex, _response);
            case VirtioGpuCtrlType.GetCapset when TryRead<VirtioGpuGetCapset>(request, out var c):
                return _capsets!.Fill(c.CapsetId, c.CapsetVersion, _response.AsSpan(VirtioGpuCtrlHeader.Size), ref length);
            case VirtioGpuCtrlType.CtxCreate when TryRead<VirtioGpuCtxCreate>(request, out var c):
                var nameLength = (int)Math.Min(c.NameLength, VirtioGpuCtxCreate.DebugNameSize);
                return virgl.CreateContext(header.CtxId, request.Slice(VirtioGpuCtxCreate.DebugNameOffset, nameLength));
            case VirtioGpuCtrlType.CtxDestroy:
                return virgl.DestroyContext(header.CtxId);
            case VirtioGpuCtrlType.CtxAttachResource or VirtioGpuCtrlType.CtxDetachResource when TryRead<VirtioGpuResourceIdCommand>(request, out var c):
                return virgl.AttachToContext(header.CtxId, c.ResourceId, header.Type == VirtioGpuCtrlType.CtxAttachResource, _state.Find(c.ResourceId) is not null);
            case VirtioGpuCtrlType.ResourceCreate3d when TryRead<VirtioGpuResourceCreate3d>(request, out var c):
                return c.ResourceId == 0 || virgl.Owns(c.ResourceId) || _state.Find(c.ResourceId) is not null
                    ? VirtioGpuCtrlType.ErrInvalidResourceId
                    : virgl.Create(c);
            case VirtioGpuCtrlType.TransferToHost3d when TryRead<VirtioGpuTransferHost3d>(request, out var c):
                _turns?.TakeTurn();
                return EndTurn(virgl.TransferToHost(c, header.CtxId), queue);
            case VirtioGpuCtrlType.TransferFromHost3d when TryRead<VirtioGpuTransferHost3d>(request, out var c):
                _turns?.TakeTurn();
                return EndTurn(virgl.TransferFromHost(c, header.CtxId, queue.Memory), queue);
            case VirtioGpuCtrlType.Submit3d when TryRead<VirtioGpuCmdSubmit>(request, out var c):
                var stream = request[VirtioGpuCmdSubmit.Size..];
                if (c.StreamSize > (uint)stream.Length)
                {
                    return VirtioGpuCtrlType.ErrInvalidParameter;
                }

                _turns?.TakeTurn();
                return EndTurn(virgl.Submit(header.CtxId, stream[..(int)c.StreamSize]), queue);
            default:
                return VirtioGpuCtrlType.ErrUnspec;
        }
    }

    /// <summary>
    /// Ends a shared GPU's turn once the GPU has finished its work, so the time it took is this
    /// guest's, telling the turns whether <paramref name="queue"/> holds more; an unfinished fence fails the command.
    /// </summary>
    private VirtioGpuCtrlType EndTurn(VirtioGpuCtrlType result, DeviceQueue queue)
    {
        if (_turns is null)
        {
            return result;
        }

        var finished = _virgl!.Fence();
        _turns.EndTurn(queue.HasAvailable);
        return finished ? result : VirtioGpuCtrlType.ErrUnspec;
    }

    private bool Is3d(uint resourceId) => _virgl?.Owns(resourceId) == true;

    private VirtioGpuCtrlType Create2d(in VirtioGpuResourceCreate2d command) =>
        Is3d(command.ResourceId) ? VirtioGpuCtrlType.ErrInvalidResourceId : _state.Create2d(command);

    /// <summary>A 3D resource goes from the renderer and, if it was on a scanout, from here.</summary>
    private VirtioGpuCtrlType Unref(uint id)
    {
        if (!Is3d(id))
        {
            return _state.Unref(id);
        }

        if (_state.Find(id) is not null)
        {
            _state.Unref(id);
        }

        return _virgl!.Unref(id);
    }

    /// <summary>
    /// A 3D resource on a scanout gets a host copy here, which each flush reads back into: no
    /// dmabuf path reaches the VMM's display. Only plain 2D textures in a scanout format qualify.
    /// </summary>
    private VirtioGpuCtrlType SetScanout(in VirtioGpuSetScanout command)
    {
        var id = command.ResourceId;
        if (Is3d(id) && _state.Find(id) is null && _state.IsScanout(command.ScanoutId))
        {
            _virgl!.TryGet(id, out var resource);
            var format = (VirtioGpuFormat)resource.Format;
            if (resource.Target != VirglState.PipeTexture2d || !GpuResource.IsKnownFormat(format))
            {
                return VirtioGpuCtrlType.ErrInvalidParameter;
            }

            // The copy counts against the quota as what it is: host memory.
            var shadow = new VirtioGpuResourceCreate2d { ResourceId = id, Format = format, Width = resource.Width, Height = resource.Height };
            var created = _state.Create2d(shadow);
            if (created != VirtioGpuCtrlType.OkNoData)
            {
                return created;
            }
        }

        return _state.SetScanout(command);
    }

    private VirtioGpuCtrlType Flush(in VirtioGpuResourceFlush command)
    {
        var id = command.ResourceId;
        if (Is3d(id))
        {
            if (_state.Find(id) is not { } shadow)
            {
                return VirtioGpuCtrlType.OkNoData; // on no scanout: nothing to show
            }

            var rect = command.Rect;
            if (!rect.IsInside(shadow.Width, shadow.Height))
            {
                return VirtioGpuCtrlType.ErrInvalidParameter;
            }

            if (rect.Width != 0 && rect.Height != 0 && !_virgl!.ReadBack(id, rect, shadow.Pixels, shadow.Stride))
            {
                return VirtioGpuCtrlType.ErrUnspec;
            }
        }

        return _state.Flush(command);
    }

    /// <summary>TRANSFER_TO_HOST_2D on a 3D resource is a transfer of its first level.</summary>
    private VirtioGpuCtrlType TransferToHost2d(GuestMemory memory, in VirtioGpuTransferToHost2d command)
    {
        if (!Is3d(command.ResourceId))
        {
            return _state.TransferToHost2d(memory, command);
        }

        var rect = command.Rect;
        var transfer = new VirtioGpuTransferHost3d { Box = new VirtioGpuBox(rect.X, rect.Y, 0, rect.Width, rect.Height, 1), Offset = command.Offset, ResourceId = command.ResourceId };
        return _virgl!.TransferToHost(transfer, 0);
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

        var list = MemoryMarshal.Cast<byte, VirtioGpuMemEntry>(entries[..((int)count * VirtioGpuMemEntry.Size)]);
        return Is3d(command.ResourceId) ? _virgl!.AttachBacking(memory, command.ResourceId, list) : _state.AttachBacking(memory, command.ResourceId, list);
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
