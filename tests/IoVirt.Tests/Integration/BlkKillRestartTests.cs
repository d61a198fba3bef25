using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using IoVirt.Abi.Blk;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Blk.Load;
using IoVirt.Interop;
using IoVirt.Machine.Pci;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The VMM's vhost-user disk while its <c>iovirt blk</c> is killed with SIGKILL again and again
/// under load, each time at a random moment, and restarted on the same socket. The guest is a
/// driver in this process that checks what a real guest only notices when it crashes: every
/// completion names a request it has outstanding, every read returns the last completed write,
/// and no back end, dead or alive, writes into a buffer or follows an indirect table the driver
/// has taken back.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class BlkKillRestartTests(ITestOutputHelper output) : IDisposable
{
    private const ulong MemoryBase = 0x4000_0000;
    private const ulong MemorySize = 8 << 20;
    private const int QueueSize = 128;
    private const int Depth = 32;
    private const int BlockBytes = 65536;
    private const int Blocks = 128;
    private const int IndirectEntries = 3;

    /// <summary>Each slot's header (16 bytes), then its status byte at +32.</summary>
    private const ulong HeaderBase = MemoryBase + (1 << 20);
    private const ulong IndirectBase = MemoryBase + (2 << 20);

    /// <summary>What a taken-back indirect table points at: a read of block 0 into a poisoned buffer.</summary>
    private const ulong TrapBase = MemoryBase + (3 << 20);
    private const ulong DataBase = MemoryBase + (4 << 20);
    private const byte Poison = 0xa5;
    private const ulong Tag = 0x5eed;

    /// <summary>The back end is <c>iovirt mux</c>, not <c>iovirt blk</c>.</summary>
    private const string Mux = "mux";

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-blk-kill-").FullName;

    [Theory]
    [InlineData(false, "mapped")]
    [InlineData(true, "mapped")]
    [InlineData(false, "uring")]
    [InlineData(false, Mux)]
    [InlineData(true, Mux)]
    public void No_request_is_lost_repeated_or_stale_through_30_kills_of_the_back_end(bool packed, string engine)
    {
        // The mapped engine serves images in RAM, as the nested test's tmpfs disk is; uring a file
        // on disk; the mux a volume of a shared image, with a limit that keeps a burst waiting at
        // its arbiter, so kills find requests that never reached the disk.
        var image = engine == "mapped" ? Path.Combine("/dev/shm", $"iovirt-kill-{Environment.ProcessId}-{packed}.img") : Path.Combine(_directory, "disk.img");
        using (var imageFile = new FileStream(image, FileMode.Create))
        {
            imageFile.SetLength((engine == Mux ? 2L : 1L) * Blocks * BlockBytes);
        }

        var socket = Path.Combine(_directory, "blk.sock");
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(MemoryBase, MemorySize, "iovirt-kill-test"));
        using var kick = EventFd.Create();
        using var call = EventFd.Create();
        var vmmLog = new RecordingLogger();
        var daemon = StartDaemon(socket, image, engine);
        try
        {
            using var device = VhostUserBackend.Connect(socket, VirtioDeviceId.Block, memory, vmmLog, offerPacked: packed);
            var features = device.Features & ~(packed ? 0 : VirtioFeature.Bit(VirtioFeature.RingPacked));
            var indirect = (features & VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)) != 0;
            var eventIdx = (features & VirtioFeature.Bit(VirtioFeature.RingEventIdx)) != 0;
            var ring = packed ? RingLayout.Packed(MemoryBase, QueueSize, eventIdx, indirect) : RingLayout.Split(MemoryBase, QueueSize, eventIdx, indirect);
            DriverQueue driver = packed
                ? new PackedDriverQueue(memory, ring, IndirectBase, IndirectEntries)
                : new SplitDriverQueue(memory, ring, IndirectBase, IndirectEntries);
            device.Activate(features, [new VirtioQueueSetup(0, QueueSize, ring.DescriptorTable, ring.DriverArea, ring.DeviceArea, kick, call)]);

            var guest = new CheckingGuest(memory, driver, indirect, new Random(packed ? 11 : 7));
            var kills = 0;
            var started = Stopwatch.StartNew();
            var random = new Random(42);
            var resubmitted = 0;
            var reconnectsBefore = 0;
            while (kills < 30)
            {
                // Three moments to die at: one time in six as soon as it listens (perhaps in the
                // middle of the VMM's handshake), one in six as soon as the VMM has restarted the
                // ring (perhaps while resubmitting what its predecessor left), and otherwise after
                // some completions, when the guest lets the queue run dry, hands it a full burst,
                // and the back end dies a random moment later, mostly in the middle of that burst.
                var moment = random.Next(6);
                var progress = guest.Completed + (moment < 2 ? 0 : 1 + random.Next(64));
                var deadline = Environment.TickCount64 + 30_000;
                while (guest.Completed < progress || (moment == 1 && Reconnects(vmmLog) == reconnectsBefore))
                {
                    Assert.True(Environment.TickCount64 < deadline, $"no completion for 30 s after kill {kills}: {guest.Completed} completed, {driver.Outstanding} outstanding\n{string.Join("\n", vmmLog.Lines.Select(line => line.Text))}\n{daemon.Stderr}");
                    guest.Step(kick, call);
                }

                if (moment >= 2)
                {
                    while (driver.Outstanding > 0)
                    {
                        Assert.True(Environment.TickCount64 < deadline, $"the queue did not run dry after kill {kills}: {driver.Outstanding} outstanding");
                        guest.Step(kick, call, submit: false);
                    }

                    guest.Step(kick, call, submit: true, wait: false);
                    var burst = Stopwatch.GetTimestamp();
                    var delay = TimeSpan.FromMicroseconds(random.Next(2_000));
                    while (Stopwatch.GetElapsedTime(burst) < delay)
                    {
                    }
                }

                daemon.Signal(9);
                Assert.Equal(137, daemon.WaitForExit());
                resubmitted += Resubmissions(daemon.Stderr);
                daemon.Dispose();
                kills++;
                reconnectsBefore = Reconnects(vmmLog);
                daemon = StartDaemon(socket, image, engine);
            }

            // The last back end lives: everything outstanding completes, and the traps are untouched.
            var end = Environment.TickCount64 + 30_000;
            var last = guest.Completed + 200;
            while (guest.Completed < last)
            {
                Assert.True(Environment.TickCount64 < end, $"the last back end stalled: {driver.Outstanding} outstanding");
                guest.Step(kick, call);
            }

            guest.CheckTrap();
            resubmitted += Resubmissions(daemon.Stderr);
            // Requests that wait on a file or an arbiter are in flight at many kills. The mapped
            // engine finishes a burst of 32 within about 100 us, so a kill 0-2 ms after the kick
            // lands inside one only by chance: about one kill in twenty, and none at all in both
            // mapped cases of one clean run on 2026-12-07. Those cases check the rest (nothing
            // lost, repeated or stale); the uring and mux cases prove the resubmission.
            Assert.True(resubmitted > 0 || engine == "mapped", "no back end resubmitted a request: the kills missed the requests in flight");
            output.WriteLine($"{kills} kills in {started.Elapsed.TotalSeconds:F1} s; {guest.Completed} requests completed ({guest.Reads} reads verified, {guest.IndirectChains} through indirect tables); {resubmitted} resubmitted by the successors; the VMM reconnected {Reconnects(vmmLog)} times");
        }
        finally
        {
            daemon.Dispose();
            if (engine == "mapped")
            {
                File.Delete(image);
            }
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static int Reconnects(RecordingLogger vmmLog) => vmmLog.Lines.Count(line => line.Text.Contains("rings resumed", StringComparison.Ordinal));

    /// <summary>Requests a back end said it resubmitted (a killed one may not have written every line).</summary>
    private static int Resubmissions(string stderr) =>
        Regex.Matches(stderr, "resubmitting ([0-9]+) requests").Sum(match => int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));

    private DaemonProcess StartDaemon(string socket, string image, string engine)
    {
        DaemonProcess daemon;
        if (engine == Mux)
        {
            // An 8 MiB volume (Blocks of BlockBytes); 64 KiB requests at 8,000 cost units a second: a burst of 32 drains in tens of ms.
            var config = Path.Combine(_directory, "mux.json");
            File.WriteAllText(config, $$"""{ "image": "{{image}}", "capacityIops": 100000, "disks": [ { "name": "guest", "socket": "{{socket}}", "size": "8M", "limitIops": 8000 } ] }""");
            daemon = DaemonProcess.Start("mux", "--config", config);
        }
        else
        {
            daemon = DaemonProcess.Start("blk", "--socket", socket, "--image", image, "--engine", engine);
        }

        daemon.WaitForSocket(socket);
        return daemon;
    }

    /// <summary>
    /// A guest keeping <see cref="Depth"/> requests of 16 KiB in flight, reads and writes on
    /// blocks no other outstanding request touches, and checking each as it comes back.
    /// </summary>
    private sealed class CheckingGuest
    {
        private readonly GuestMemory _memory;
        private readonly DriverQueue _driver;
        private readonly bool _indirect;
        private readonly Random _random;
        private readonly ulong[] _generationOf = new ulong[Blocks];
        private readonly bool[] _busy = new bool[Blocks];
        private readonly Request?[] _byHead = new Request?[QueueSize];
        private readonly Stack<int> _freeSlots = new(Enumerable.Range(0, Depth));
        private readonly byte[] _buffer = new byte[BlockBytes];
        private ulong _generation;

        public CheckingGuest(GuestMemory memory, DriverQueue driver, bool indirect, Random random)
        {
            _memory = memory;
            _driver = driver;
            _indirect = indirect;
            _random = random;
            for (var slot = 0; slot < Depth; slot++)
            {
                PoisonSlot(slot);
            }

            // The trap: a read header for block 0, then a poisoned data buffer and status byte.
            Span<byte> header = stackalloc byte[16];
            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)VirtioBlkRequestType.In);
            Check(_memory.Write(TrapBase, header));
            Fill(TrapBase + 4096, BlockBytes + 1, Poison);
        }

        public long Completed { get; private set; }

        public long Reads { get; private set; }

        public long IndirectChains { get; private set; }

        /// <summary>Fills the queue, then takes back what completed, waiting briefly for an interrupt when nothing did.</summary>
        public void Step(EventFd kick, EventFd call, bool submit = true, bool wait = true)
        {
            var added = false;
            while (submit && _freeSlots.Count > 0 && _driver.FreeSlots >= IndirectEntries)
            {
                Submit(_freeSlots.Pop());
                added = true;
            }

            if (added)
            {
                _driver.PublishAvail();
                if (_driver.NeedsKick())
                {
                    kick.Signal();
                }
            }

            if (!wait)
            {
                return;
            }

            if (TakeUsed() == 0 && !_driver.EnableInterrupts())
            {
                call.Wait(20);
            }

            _driver.DisableInterrupts();
            TakeUsed();
        }

        public void CheckTrap() => Assert.True(IsFilled(TrapBase + 4096, BlockBytes + 1, Poison), "a back end followed an indirect table the guest had taken back");

        private void Submit(int slot)
        {
            // A taken-back buffer holds the poison until it is handed out again.
            Assert.True(IsFilled(DataAddress(slot), BlockBytes, Poison) && IsFilled(StatusAddress(slot), 1, Poison), $"a back end wrote into slot {slot}'s buffers after the guest took them back");
            int block;
            do
            {
                block = _random.Next(Blocks);
            }
            while (_busy[block]);

            _busy[block] = true;
            var write = _random.Next(2) == 0;
            var generation = write ? ++_generation : 0;
            if (write)
            {
                BlockStamp.Write(_buffer, FirstSector(block), generation, Tag);
                Check(_memory.Write(DataAddress(slot), _buffer));
            }

            Span<byte> header = stackalloc byte[16];
            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(write ? VirtioBlkRequestType.Out : VirtioBlkRequestType.In));
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], FirstSector(block));
            Check(_memory.Write(HeaderAddress(slot), header));
            var indirect = _indirect && _random.Next(2) == 0;
            DriverBuffer[] chain = [new(HeaderAddress(slot), 16, false), new(DataAddress(slot), BlockBytes, !write), new(StatusAddress(slot), 1, true)];
            Assert.True(_driver.TryAdd(chain, indirect, out var head), "the ring had no room");
            Assert.Null(_byHead[head]);
            _byHead[head] = new Request(slot, block, write, generation, indirect);
            IndirectChains += indirect ? 1 : 0;
        }

        private int TakeUsed()
        {
            var taken = 0;
            Span<byte> status = stackalloc byte[1];
            while (_driver.TryTakeUsed(out var head, out _))
            {
                Assert.Equal(QueueError.None, _driver.Fault);
                var request = _byHead[head] ?? throw new InvalidOperationException($"head {head} completed with no request of ours");
                _byHead[head] = null;
                Check(_memory.Read(StatusAddress(request.Slot), status));
                Assert.True(status[0] == (byte)VirtioBlkStatus.Ok, $"block {request.Block} ({(request.Write ? "write" : "read")}) completed with status {status[0]}");
                if (request.Write)
                {
                    _generationOf[request.Block] = request.Generation;
                }
                else
                {
                    Check(_memory.Read(DataAddress(request.Slot), _buffer));
                    VerifyRead(request.Block);
                    Reads++;
                }

                _busy[request.Block] = false;
                PoisonSlot(request.Slot);
                if (request.Indirect)
                {
                    PoisonIndirectTable(head);
                }

                _freeSlots.Push(request.Slot);
                Completed++;
                taken++;
            }

            Assert.Equal(QueueError.None, _driver.Fault);
            return taken;
        }

        private void VerifyRead(int block)
        {
            var expected = _generationOf[block];
            for (var s = 0; s < BlockBytes / 512; s++)
            {
                var sector = FirstSector(block) + (ulong)s;
                var reading = BlockStamp.Read(_buffer.AsSpan(s * 512, 512), sector, Tag, out var generation);
                var ok = expected == 0 ? reading == BlockStamp.Reading.Zero : reading == BlockStamp.Reading.Stamped && generation == expected;
                Assert.True(ok, $"sector {sector} read {reading} generation {generation}; the last completed write was generation {expected}");
            }
        }

        /// <summary>Points the table of a completed head at the trap, as memory a driver freed holds anything.</summary>
        private void PoisonIndirectTable(ushort head)
        {
            var table = IndirectBase + ((ulong)head * IndirectEntries * VirtqDesc.Size);
            Span<byte> entry = stackalloc byte[(int)VirtqDesc.Size];
            (ulong Address, uint Length, ushort Flags)[] trap = [(TrapBase, 16, 0), (TrapBase + 4096, BlockBytes, (ushort)VirtqDescFlags.Write), (TrapBase + 4096 + BlockBytes, 1, (ushort)VirtqDescFlags.Write)];
            for (var i = 0; i < trap.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(entry, trap[i].Address);
                BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], trap[i].Length);
                // Split tables chain with NEXT; packed ones are sequential and ignore it.
                var next = i + 1 < trap.Length ? (ushort)VirtqDescFlags.Next : (ushort)0;
                BinaryPrimitives.WriteUInt16LittleEndian(entry[12..], (ushort)(trap[i].Flags | next));
                BinaryPrimitives.WriteUInt16LittleEndian(entry[14..], (ushort)(i + 1));
                Check(_memory.Write(table + ((ulong)i * VirtqDesc.Size), entry));
            }
        }

        private void PoisonSlot(int slot)
        {
            Fill(DataAddress(slot), BlockBytes, Poison);
            Fill(StatusAddress(slot), 1, Poison);
        }

        private void Fill(ulong address, int length, byte value)
        {
            var bytes = new byte[length];
            Array.Fill(bytes, value);
            Check(_memory.Write(address, bytes));
        }

        private bool IsFilled(ulong address, int length, byte value)
        {
            var bytes = new byte[length];
            Check(_memory.Read(address, bytes));
            return !bytes.AsSpan().ContainsAnyExcept(value);
        }

        private static void Check(MemoryFault fault) => Assert.Equal(MemoryFault.None, fault);

        private static ulong FirstSector(int block) => (ulong)block * (BlockBytes / 512);

        private static ulong HeaderAddress(int slot) => HeaderBase + ((ulong)slot * 64);

        private static ulong StatusAddress(int slot) => HeaderAddress(slot) + 32;

        private static ulong DataAddress(int slot) => DataBase + ((ulong)slot * BlockBytes);

        private sealed record Request(int Slot, int Block, bool Write, ulong Generation, bool Indirect);
    }
}
