using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Abi.Net;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Net;
using IoVirt.Memory;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Fuzz;

/// <summary>
/// The front end of <see cref="VhostUserSequenceTarget"/>: a guest driver with memfd memory in
/// two regions (rings and most buffers in the main one; the spare one comes and goes), the
/// block device's queue 0 or the network device's receive (0) and transmit (1) queues, and a
/// model of what the device may hand back. Block requests read or write one of 64 sectors, each
/// write stamping the sector with its number and a generation; a read that completes OK must
/// hold zeros (never written) or a stamp some write of that sector put there. Transmitted frames
/// carry a tag; every frame the echo returns must carry one that was sent, or be the RARP of a
/// guest announced. While dirty logging is on, every page a completed request's device-written
/// bytes fall in must be marked in the log.
/// </summary>
internal sealed class SequenceFrontEnd : IDisposable
{
    public const ulong DiskBytes = Sectors * VirtioBlk.SectorSize;

    private const int Sectors = 64;
    private const ulong MainBase = 0x4000_0000;
    private const ulong MainSize = 512 << 10;
    private const ulong SpareBase = 0x4100_0000;
    private const ulong SpareSize = 64 << 10;
    private const ulong DataBase = MainBase + (64 << 10);
    private const int RingSize = 16;
    private const int SlotBytes = 2048;
    private const int Slots = 30;
    private const int CollectWaitMs = 20;
    private const ulong LogBytes = 64 << 10; // one bit per 4 KiB page: guest-physical addresses up to 2 GiB


    private static readonly byte[] GuestMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] PeerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x99];

    private readonly string _socket;
    private readonly bool _blk;
    private readonly GuestMemory _all;
    private readonly GuestMemory _mainOnly;
    private readonly FrontendQueue?[] _queues;
    private readonly bool[] _enabled;
    private readonly Dictionary<ushort, Request>[] _outstanding;
    private readonly Stack<int> _freeMain = new(Enumerable.Range(0, Slots));
    private readonly Stack<int> _freeSpare = new(Enumerable.Range(0, Slots));
    private readonly HashSet<ulong>[] _stamps = Enumerable.Range(0, Sectors).Select(_ => new HashSet<ulong>()).ToArray();
    private readonly HashSet<uint> _sentTags = [];
    private readonly HashSet<MacAddress> _announced = [];
    private readonly GuestMemory _log = new(GuestRegion.CreateMemfd(0, LogBytes, "fuzz-dirty-log"));
    private bool _logging;
    private int _logEpoch;
    private VhostUserFrontend? _frontend;

    /// <summary>What the steps did so far, so a test can tell a run went deep.</summary>
    public SequenceTally Tally { get; } = new();
    private ulong _features;
    private VhostUserProtocolFeatures _protocol;
    private (VhostUserInflight Description, SafeFileHandle File)? _inflight;
    private bool _spareInTable;
    private ulong _generation;
    private uint _tag;

    public SequenceFrontEnd(string socket, bool blk)
    {
        _socket = socket;
        _blk = blk;
        _all = new GuestMemory(GuestRegion.CreateMemfd(MainBase, MainSize, "fuzz-main"), GuestRegion.CreateMemfd(SpareBase, SpareSize, "fuzz-spare"));
        _mainOnly = _all.WithoutRegion(SpareBase, SpareSize);
        var count = blk ? 1 : 2;
        _queues = new FrontendQueue?[count];
        _enabled = new bool[count];
        _outstanding = [.. Enumerable.Range(0, count).Select(_ => new Dictionary<ushort, Request>())];
    }

    private GuestRegion Spare => _all.Regions[1];

    /// <summary>One step; a refusal or a closed connection is the back end's right, anything else escapes.</summary>
    public void Step(byte op, byte argument)
    {
        try
        {
            var frontend = _frontend ??= Connect();
            switch ((SequenceOp)(op % 11))
            {
                case SequenceOp.Start:
                    Start(frontend, argument % _queues.Length);
                    break;
                case SequenceOp.Submit:
                    Submit(argument);
                    break;
                case SequenceOp.Collect:
                    Collect(CollectWaitMs * (1 + (argument & 3)));
                    break;
                case SequenceOp.MemTable:
                    frontend.SetMemTable(_spareInTable ? _all : _mainOnly);
                    break;
                case SequenceOp.SpareRegion:
                    ToggleSpare(frontend);
                    break;
                case SequenceOp.StopAndResume:
                    StopAndResume(frontend, argument % _queues.Length);
                    break;
                case SequenceOp.Enable:
                    var index = argument % _queues.Length;
                    if (_queues[index] is not null)
                    {
                        _enabled[index] = !_enabled[index];
                        frontend.SetVringEnable((uint)index, _enabled[index]);
                    }

                    break;
                case SequenceOp.Reconnect:
                    Disconnect();
                    _frontend = Reconnect();
                    Tally.Reconnects++;
                    break;
                case SequenceOp.Reset:
                    Reset(frontend);
                    break;
                case SequenceOp.Log:
                    ToggleLogging(frontend);
                    break;
                case SequenceOp.Announce:
                    Announce(frontend, argument);
                    break;
            }
        }
        catch (VhostUserProtocolException)
        {
            // Refused with an error reply: the session goes on.
            Tally.Refused++;
        }
        catch (IOException)
        {
            // The back end closed the connection: the next step connects again, as QEMU would with reconnect=1.
            Tally.Closed++;
            Disconnect();
        }
    }

    /// <summary>
    /// After the steps, a new front end (new connection, fresh rings, no inflight buffer, the
    /// model of the disk kept) must be served at once: one read (block) or one echoed frame (network).
    /// </summary>
    public void CheckServedByANewFrontEnd()
    {
        Disconnect();
        ForgetQueues();
        _inflight?.File.Dispose();
        _inflight = null;
        var frontend = _frontend = Connect();
        for (var i = 0; i < _queues.Length; i++)
        {
            Start(frontend, i);
        }

        Submit(0x01);
        if (!_blk)
        {
            Submit(0x00);
        }

        var deadline = Environment.TickCount64 + 5000;
        while (_outstanding.Any(requests => requests.Count > 0))
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new FuzzInvariantException("the back end stopped serving: a new front end's request was not completed in 5 s");
            }

            Collect(50);
        }
    }

    public void Dispose()
    {
        Disconnect();
        _inflight?.File.Dispose();
        _log.Dispose();
        _mainOnly.Dispose();
        _all.Dispose();
    }

    private VhostUserFrontend Connect()
    {
        _logging = false; // a new session has no log
        var frontend = VhostUserFrontend.Connect(_socket);
        try
        {
            var offered = frontend.GetFeatures();
            _protocol = frontend.GetProtocolFeatures() & SequenceProtocol.Wanted;
            frontend.SetProtocolFeatures(_protocol);
            frontend.SetOwner();
            _features = offered & (VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures)
                | VirtioFeature.Bit(VirtioFeature.RingEventIdx) | (_blk ? 0 : VirtioFeature.Bit(VirtioNetFeature.Mac)));
            frontend.SetFeatures(_features);
            if (Has(VhostUserProtocolFeatures.InflightShmfd))
            {
                if (_inflight is { } inflight)
                {
                    frontend.SetInflightFd(inflight.Description, inflight.File);
                }
                else
                {
                    var description = frontend.GetInflightFd((ushort)_queues.Length, RingSize, out var file);
                    _inflight = (description, file);
                }
            }

            frontend.SetMemTable(_spareInTable ? _all : _mainOnly);
            return frontend;
        }
        catch
        {
            frontend.Dispose();
            throw;
        }
    }

    /// <summary>After the connection went: a new one, the rings announced again from the used index in guest memory.</summary>
    private VhostUserFrontend Reconnect()
    {
        var frontend = Connect();
        for (var i = 0; i < _queues.Length; i++)
        {
            if (_queues[i] is { } queue)
            {
                queue.Reconnect(frontend, UsedIndex(queue));
                frontend.SetVringEnable((uint)i, _enabled[i]);
            }
        }

        return frontend;
    }

    private void Disconnect()
    {
        _frontend?.Dispose();
        _frontend = null;
    }

    private bool Has(VhostUserProtocolFeatures feature) => (_protocol & feature) != 0;

    private void Start(VhostUserFrontend frontend, int index)
    {
        if (_queues[index] is not null)
        {
            return;
        }

        // A fresh ring, as a driver allocates one: nothing of a ring used before a reset is left in it.
        var ring = MainBase + ((ulong)index * 0x2000);
        Write(ring, new byte[0x2000]);
        _queues[index] = FrontendQueue.Start(frontend, _all, (uint)index, RingSize, packed: false, eventIdx: (_features & VirtioFeature.Bit(VirtioFeature.RingEventIdx)) != 0, ring);
        _enabled[index] = true;
        frontend.SetVringEnable((uint)index, true);
    }

    /// <summary>Drops every ring and what was outstanding on it, as a driver does when its device is reset.</summary>
    private void ForgetQueues()
    {
        for (var i = 0; i < _queues.Length; i++)
        {
            _queues[i]?.Dispose();
            _queues[i] = null;
            foreach (var request in _outstanding[i].Values)
            {
                Free(request);
            }

            _outstanding[i].Clear();
        }
    }

    private void ToggleSpare(VhostUserFrontend frontend)
    {
        _spareInTable = !_spareInTable;
        if (Has(VhostUserProtocolFeatures.ConfigureMemSlots))
        {
            Tally.RegionChanges++;
            if (_spareInTable)
            {
                frontend.AddMemoryRegion(Spare);
            }
            else
            {
                frontend.RemoveMemoryRegion(Spare);
            }
        }
        else
        {
            frontend.SetMemTable(_spareInTable ? _all : _mainOnly);
        }
    }

    /// <summary>GET_VRING_BASE stops the ring wherever its requests are; it resumes where the back end says.</summary>
    private void StopAndResume(VhostUserFrontend frontend, int index)
    {
        if (_queues[index] is not { } queue)
        {
            return;
        }

        var position = frontend.GetVringBase((uint)index);
        queue.Resume(frontend, position);
        Tally.Stops++;
    }

    private void Reset(VhostUserFrontend frontend)
    {
        if (!Has(VhostUserProtocolFeatures.ResetDevice))
        {
            return;
        }

        frontend.ResetDevice();
        ForgetQueues();
        _logging = false;

        // A reset device forgets the features and the memory table too.
        frontend.SetFeatures(_features);
        frontend.SetMemTable(_spareInTable ? _all : _mainOnly);
    }

    /// <summary>Adds 1 to 4 requests: bit 0 of <paramref name="argument"/> picks the queue (network), bits 1-2 the count, bit 4 buffers in the spare region, the rest the sector.</summary>
    private void Submit(byte argument)
    {
        var index = _blk ? 0 : argument & 1;
        if (_queues[index] is not { } queue)
        {
            return;
        }

        var count = 1 + ((argument >> 1) & 3);
        var spare = (argument & 0x10) != 0;
        for (var i = 0; i < count; i++)
        {
            // Every request has a main slot (a block request's header and status live there); its
            // data goes to the spare region when asked.
            if (!_freeMain.TryPop(out var mainSlot))
            {
                break;
            }

            var spareSlot = -1;
            if (spare && !_freeSpare.TryPop(out spareSlot))
            {
                spareSlot = -1;
            }

            var control = DataBase + ((ulong)mainSlot * SlotBytes);
            var data = spareSlot >= 0 ? SpareBase + ((ulong)spareSlot * SlotBytes) : control + VirtioBlk.SectorSize;
            var request = _blk ? Block(control, data, (argument >> 5) + (i * 3), (argument & 8) != 0) : Packet(data, index);
            request = request with { MainSlot = mainSlot, SpareSlot = spareSlot, LogEpoch = _logging ? _logEpoch : -1 };
            if (!queue.Driver.TryAdd(request.Buffers, indirect: false, out var id))
            {
                Free(request);
                break;
            }

            _outstanding[index][id] = request;
        }

        queue.Submit();
    }

    private Request Block(ulong header, ulong data, int sector, bool write)
    {
        sector %= Sectors;
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)(write ? VirtioBlkRequestType.Out : VirtioBlkRequestType.In));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], (ulong)sector);
        var status = header + 16;
        Write(header, bytes);
        Write(status, [0xff]);
        var stamp = 0UL;
        if (write)
        {
            stamp = ++_generation;
            Write(data, Stamp(sector, stamp));
            _stamps[sector].Add(stamp);
        }

        return new Request([new(header, 16, false), new(data, VirtioBlk.SectorSize, !write), new(status, 1, true)], sector, write, status, data, -1, -1);
    }

    private Request Packet(ulong data, int index)
    {
        if (index == 0)
        {
            return new Request([new(data, SlotBytes - VirtioBlk.SectorSize, true)], 0, false, 0, data, -1, -1);
        }

        var tag = ++_tag;
        var frame = new byte[VirtioNetHdr.Size + 64];
        GuestMac.CopyTo(frame.AsSpan(VirtioNetHdr.Size));
        PeerMac.CopyTo(frame.AsSpan(VirtioNetHdr.Size + 6));
        frame[VirtioNetHdr.Size + 12] = 0x88;
        frame[VirtioNetHdr.Size + 13] = 0xb5;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(VirtioNetHdr.Size + 14), tag);
        Write(data, frame);
        _sentTags.Add(tag);
        return new Request([new(data, (uint)frame.Length, false)], 0, false, 0, data, -1, -1);
    }

    /// <summary>Takes back what the device used, checking each against the model.</summary>
    private void Collect(int waitMs)
    {
        for (var index = 0; index < _queues.Length; index++)
        {
            if (_queues[index] is not { } queue)
            {
                continue;
            }

            var wait = _outstanding[index].Count > 0 && _enabled[index] ? waitMs : 0;
            while (TryWaitUsed(queue, out var id, out var written, wait))
            {
                wait = 0;
                if (!_outstanding[index].Remove(id, out var request))
                {
                    throw new FuzzInvariantException($"queue {index} used descriptor {id}, which was not outstanding");
                }

                Check(index, request, written);
                CheckLogged(request, written);
                Tally.Completions++;
                Free(request);
            }
        }
    }

    private static bool TryWaitUsed(FrontendQueue queue, out ushort id, out uint written, int waitMs)
    {
        try
        {
            return queue.TryWaitUsed(out id, out written, waitMs);
        }
        catch (InvalidDataException e)
        {
            throw new FuzzInvariantException(e.Message);
        }
    }

    private void Check(int index, Request request, uint written)
    {
        if (_blk)
        {
            // A chain the device could not use comes back with nothing written (its status untouched).
            var status = (VirtioBlkStatus)Read(request.Status, 1)[0];
            if (written == 0 && (byte)status == 0xff)
            {
                return;
            }

            if (status is not (VirtioBlkStatus.Ok or VirtioBlkStatus.IoError or VirtioBlkStatus.Unsupported))
            {
                throw new FuzzInvariantException($"a request completed with status {status}");
            }

            if (status == VirtioBlkStatus.Ok && !request.Write)
            {
                var data = Read(request.Data, VirtioBlk.SectorSize);
                var stamp = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(8));
                var valid = data.All(b => b == 0) || (_stamps[request.Sector].Contains(stamp) && data.AsSpan().SequenceEqual(Stamp(request.Sector, stamp)));
                if (!valid)
                {
                    throw new FuzzInvariantException($"a read of sector {request.Sector} returned data no write of it put there: {Convert.ToHexString(data.AsSpan(0, 32))} (written: {string.Join(",", _stamps[request.Sector])}, status {status}, {written} bytes)");
                }

                Tally.StampedReads += data.All(b => b == 0) ? 0 : 1;
            }
        }
        else if (index == 0 && written > VirtioNetHdr.Size)
        {
            var frame = Read(request.Data + VirtioNetHdr.Size, (int)Math.Min(written - VirtioNetHdr.Size, 64));
            if (frame.Length >= 28 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == EtherTypeRarp)
            {
                // The echo of an announcement: it must name a guest that was announced.
                if (!_announced.Contains(MacAddress.Read(frame.AsSpan(22))))
                {
                    throw new FuzzInvariantException("a RARP came back for a guest never announced");
                }

                Tally.Announcements++;
                return;
            }

            if (frame.Length >= 18 && !_sentTags.Contains(BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(14))))
            {
                throw new FuzzInvariantException("a received frame carries no tag that was sent");
            }

            Tally.FramesEchoed++;
        }
    }

    private const ushort EtherTypeRarp = 0x8035;

    /// <summary>
    /// Logging on (the Log step): a dirty log the size of the whole address space and VHOST_F_LOG_ALL,
    /// as QEMU does when a migration starts; off: LOG_ALL dropped again.
    /// </summary>
    private void ToggleLogging(VhostUserFrontend frontend)
    {
        if (!Has(VhostUserProtocolFeatures.LogShmfd))
        {
            return;
        }

        if (_logging)
        {
            frontend.SetFeatures(_features);
            _logging = false;
            return;
        }

        frontend.SetLogBase(_log.Regions[0].File!, LogBytes);
        frontend.SetFeatures(_features | VirtioFeature.Bit(VhostUserLog.LogAllFeature));
        _logging = true;
        _logEpoch++;
    }

    /// <summary>SEND_RARP for a MAC made from <paramref name="argument"/>; sent to a block device too, which must refuse it.</summary>
    private void Announce(VhostUserFrontend frontend, byte argument)
    {
        byte[] mac = [0x52, 0x54, 0x00, 0x12, 0x34, argument];
        if (Has(VhostUserProtocolFeatures.Rarp))
        {
            _announced.Add(MacAddress.Read(mac));
        }

        frontend.SendRarp(mac);
    }

    /// <summary>A request submitted and completed while logging stayed on: the pages its device-written bytes fall in are in the log.</summary>
    private unsafe void CheckLogged(Request request, uint written)
    {
        if (!_logging || request.LogEpoch != _logEpoch)
        {
            return;
        }

        var bits = (byte*)_log.Regions[0].Host;
        var left = (ulong)written;
        foreach (var buffer in request.Buffers.Where(b => b.IsWritable))
        {
            var length = Math.Min(left, buffer.Length);
            for (var page = buffer.Address >> 12; length != 0 && page <= (buffer.Address + length - 1) >> 12; page++)
            {
                if ((bits[page >> 3] & (1 << (int)(page & 7))) == 0)
                {
                    throw new FuzzInvariantException($"the device wrote guest page 0x{page << 12:x} while logging was on, and it is not in the dirty log");
                }
            }

            left -= length;
        }

        Tally.LoggedCompletions++;
    }

    private void Free(Request request)
    {
        if (request.MainSlot >= 0)
        {
            _freeMain.Push(request.MainSlot);
        }

        if (request.SpareSlot >= 0)
        {
            _freeSpare.Push(request.SpareSlot);
        }
    }

    private static byte[] Stamp(int sector, ulong generation)
    {
        var bytes = new byte[VirtioBlk.SectorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)sector);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), generation);
        bytes.AsSpan(16).Fill((byte)(sector ^ (int)generation));
        return bytes;
    }

    private ushort UsedIndex(FrontendQueue queue)
    {
        var bytes = Read(queue.Driver.Config.DeviceArea + 2, 2);
        return BinaryPrimitives.ReadUInt16LittleEndian(bytes);
    }

    private void Write(ulong address, ReadOnlySpan<byte> bytes)
    {
        if (_all.Write(address, bytes) != MemoryFault.None)
        {
            throw new InvalidOperationException($"the front end's own write at 0x{address:x} missed its memory");
        }
    }

    private byte[] Read(ulong address, int length)
    {
        var bytes = new byte[length];
        return _all.Read(address, bytes) == MemoryFault.None ? bytes : throw new InvalidOperationException($"the front end's own read at 0x{address:x} missed its memory");
    }

    /// <summary>One request in flight: its chain and what the model needs to judge its completion.</summary>
    private sealed record Request(DriverBuffer[] Buffers, int Sector, bool Write, ulong Status, ulong Data, int MainSlot, int SpareSlot, int LogEpoch = -1);
}

/// <summary>Counts of what a sequence run did.</summary>
public sealed class SequenceTally
{
    public int Completions { get; set; }

    public int StampedReads { get; set; }

    public int FramesEchoed { get; set; }

    public int Reconnects { get; set; }

    public int Stops { get; set; }

    public int RegionChanges { get; set; }

    public int Refused { get; set; }

    public int Closed { get; set; }

    public int LoggedCompletions { get; set; }

    public int Announcements { get; set; }

    public override string ToString() =>
        $"{Completions} completions, {StampedReads} stamped reads, {FramesEchoed} frames echoed, {Reconnects} reconnects, {Stops} stops, {RegionChanges} region changes, {Refused} refused, {Closed} closed, {LoggedCompletions} logged completions, {Announcements} announcements";
}
