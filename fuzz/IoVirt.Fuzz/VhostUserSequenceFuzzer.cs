using IoVirt.Abi.VhostUser;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Devices;
using IoVirt.VhostUser;
using Microsoft.Extensions.Logging;

namespace IoVirt.Fuzz;

/// <summary>
/// The vhost-user back end under sequences a front end can really send, while its rings run on
/// their worker threads: a real <see cref="VhostUserServer"/> serving a block device (RAM disk)
/// or a network device (echo port), driven by <see cref="SequenceFrontEnd"/>. Byte 0 picks the
/// device; then each pair of bytes is one step (operation, argument): start a ring, submit
/// requests (some with buffers in a second memory region), collect completions, send the memory
/// table again, add or remove the second region while requests use it, stop a ring with
/// GET_VRING_BASE mid-I/O and resume it, disable and enable, drop the connection and reconnect
/// with the inflight buffer, reset the device, turn migration's dirty logging on or off (every
/// page the device writes while it is on must be in the log), announce a migrated guest
/// (SEND_RARP; the block device refuses it). The back end may refuse a step or close the
/// connection (the next step reconnects); it must not fail inside (a critical log line), hand
/// back a buffer it was not given, return data that no write put there, or stop serving: at the
/// end a new front end must be served at once.
/// </summary>
public static class VhostUserSequenceTarget
{
    public const string Name = "vhost-user-sequences";

    public static void Run(ReadOnlySpan<byte> input) => Execute(input);

    /// <summary>Runs <paramref name="input"/>; what its steps did (empty for an empty input).</summary>
    public static SequenceTally Execute(ReadOnlySpan<byte> input)
    {
        var tally = new SequenceTally();
        if (input.IsEmpty)
        {
            return tally;
        }

        var blk = (input[0] & 1) == 0;
        var log = new FaultLog();
        var directory = Directory.CreateTempSubdirectory("iovirt-fuzz-seq-").FullName;
        try
        {
            using var store = blk ? BlockStore.CreateRam(SequenceFrontEnd.DiskBytes) : null;
            using var port = blk ? null : new EchoPort(1, NetTransmitCheck.FrameFor(1500));
            VirtioDeviceModel device = blk
                ? new BlkDevice(store!, new BlkDeviceOptions { Engine = BlockEngineKind.Sync }, log)
                : new NetDevice(port!, new NetDeviceOptions(), log);
            var socket = Path.Combine(directory, "device.sock");
            using (device as IDisposable)
            using (var server = new VhostUserServer(socket, device, log))
            {
                server.Start();
                using var frontEnd = new SequenceFrontEnd(socket, blk);
                tally = frontEnd.Tally;
                for (var i = 1; i + 1 < input.Length; i += 2)
                {
                    frontEnd.Step(input[i], input[i + 1]);
                    log.ThrowIfFailed();
                }

                frontEnd.CheckServedByANewFrontEnd();
                log.ThrowIfFailed();
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        return tally;
    }

    /// <summary>Seeds: each device's ring started and used, then one of each kind of step in turn.</summary>
    public static IEnumerable<byte[]> Seeds()
    {
        byte[] steps =
        [
            (byte)SequenceOp.Start, 0, (byte)SequenceOp.Start, 1,
            (byte)SequenceOp.Submit, 0x0A, (byte)SequenceOp.Collect, 2, (byte)SequenceOp.Submit, 0x02, (byte)SequenceOp.Collect, 2,
            (byte)SequenceOp.Submit, 0x03, (byte)SequenceOp.Submit, 0x02, (byte)SequenceOp.Collect, 4,
            (byte)SequenceOp.SpareRegion, 0, (byte)SequenceOp.Submit, 0x13, (byte)SequenceOp.Collect, 2,
            (byte)SequenceOp.SpareRegion, 0, (byte)SequenceOp.MemTable, 0, (byte)SequenceOp.Submit, 0x05,
            (byte)SequenceOp.StopAndResume, 0, (byte)SequenceOp.Collect, 3, (byte)SequenceOp.Enable, 0,
            (byte)SequenceOp.Submit, 0x01, (byte)SequenceOp.Enable, 0, (byte)SequenceOp.Reconnect, 0,
            (byte)SequenceOp.Collect, 5, (byte)SequenceOp.Reset, 0, (byte)SequenceOp.Start, 0, (byte)SequenceOp.Submit, 0x07,
            (byte)SequenceOp.Collect, 5, (byte)SequenceOp.Log, 0, (byte)SequenceOp.Start, 1, (byte)SequenceOp.Submit, 0x06, (byte)SequenceOp.Submit, 0x07,
            (byte)SequenceOp.Collect, 4, (byte)SequenceOp.Log, 0, (byte)SequenceOp.Announce, 0x21, (byte)SequenceOp.Submit, 0x06,
            (byte)SequenceOp.Collect, 5,
        ];
        yield return [0, .. steps];
        yield return [1, .. steps];
    }

    public static int WriteSeeds(string directory) => SeedFiles.Write(directory, "sequence", Seeds());

    /// <summary>Keeps the back end's critical lines (a failure inside it); any is a finding.</summary>
    private sealed class FaultLog : ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _critical = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Critical;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Critical)
            {
                _critical.Enqueue($"{formatter(state, exception)} {exception}");
            }
        }

        public void ThrowIfFailed()
        {
            if (!_critical.IsEmpty)
            {
                throw new FuzzInvariantException($"the back end failed inside: {string.Join('\n', _critical)}");
            }
        }
    }
}

/// <summary>The steps of <see cref="VhostUserSequenceTarget"/>; the operation byte is taken modulo their count.</summary>
internal enum SequenceOp : byte
{
    Start,
    Submit,
    Collect,
    MemTable,
    SpareRegion,
    StopAndResume,
    Enable,
    Reconnect,
    Reset,
    Log,
    Announce,
}

/// <summary>Protocol features the sequence front end asks for when the back end offers them.</summary>
internal static class SequenceProtocol
{
    public const VhostUserProtocolFeatures Wanted = VhostUserProtocolFeatures.ReplyAck
        | VhostUserProtocolFeatures.ConfigureMemSlots
        | VhostUserProtocolFeatures.InflightShmfd
        | VhostUserProtocolFeatures.ResetDevice
        | VhostUserProtocolFeatures.Mq
        | VhostUserProtocolFeatures.LogShmfd
        | VhostUserProtocolFeatures.Rarp;
}
