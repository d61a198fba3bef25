using System.Buffers.Binary;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.VhostUser;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Fuzz;

/// <summary>
/// The vhost-user back end's parser and dispatcher over arbitrary message streams. The input is
/// a sequence of records: request (u32), flags (u32), announced size (u32), a descriptor byte,
/// then the payload bytes that follow (as many as remain, up to the announced size plus slack,
/// so short and long payloads both occur). The descriptor byte's low two bits say how many
/// descriptors ride along and bit 2 chooses memfds (for memory tables) or eventfds. A session
/// serves the stream on this thread; it may refuse or close, but nothing may escape it.
/// </summary>
public static class VhostUserMessageTarget
{
    public const string Name = "vhost-user-messages";

    private const int RecordHeader = 13;

    public static void Run(ReadOnlySpan<byte> input)
    {
        var (front, back) = UnixSocket.Pair();
        using var frontSocket = front;
        using var memfd = GuestRegion.CreateMemfd(0, 1 << 16, "fuzz-guest");
        using var events = EventFd.Create();
        var messages = Split(input);
        var writer = new Thread(() => Feed(frontSocket, messages, (int)memfd.File!.DangerousGetHandle(), events.Fd)) { IsBackground = true };
        using (var session = new BackendSession(back, new EchoDevice(), NullLogger.Instance))
        {
            writer.Start();
            session.Serve();
        }

        writer.Join();
    }

    /// <summary>
    /// Seeds: the start-up sequence of a real front end (features, memory table, a ring set up and
    /// kicked with a chain in it), so mutations start from deep in the protocol.
    /// </summary>
    public static IEnumerable<byte[]> Seeds()
    {
        var stream = new List<byte>();
        void Add(uint request, byte fds, params ulong[] words)
        {
            Span<byte> head = stackalloc byte[RecordHeader];
            BinaryPrimitives.WriteUInt32LittleEndian(head, request);
            BinaryPrimitives.WriteUInt32LittleEndian(head[4..], 1 | (1 << 3));
            BinaryPrimitives.WriteUInt32LittleEndian(head[8..], (uint)(words.Length * 8));
            head[12] = fds;
            stream.AddRange(head.ToArray());
            foreach (var w in words)
            {
                stream.AddRange(BitConverter.GetBytes(w));
            }
        }

        Add(1, 0);                                        // GET_FEATURES
        Add(15, 0);                                       // GET_PROTOCOL_FEATURES
        Add(16, 0, 0x1_ffff);                             // SET_PROTOCOL_FEATURES
        Add(2, 0, (1UL << 32) | (1UL << 30) | (1UL << 29) | (1UL << 28));
        Add(5, 1 | 4, 1, 0, 1 << 16, 0x7000_0000, 0);     // SET_MEM_TABLE: one region, one memfd (count, pad, then region words)
        Add(8, 0, 8UL << 32);                             // SET_VRING_NUM ring 0 size 8
        Add(9, 0, 0, 0x7000_0000, 0x7000_1000, 0x7000_0080, 0); // SET_VRING_ADDR
        Add(10, 0, 0);                                    // SET_VRING_BASE
        Add(13, 1, 0);                                    // SET_VRING_CALL
        Add(12, 1, 0);                                    // SET_VRING_KICK
        Add(18, 0, 1UL << 32);                            // SET_VRING_ENABLE
        Add(24, 0, 8UL << 32, 0);                         // GET_CONFIG 8 bytes at 0
        Add(11, 0, 0);                                    // GET_VRING_BASE
        Add(34, 0);                                       // RESET_DEVICE
        yield return [.. stream];
    }

    /// <summary>Writes <see cref="Seeds"/> as files into <paramref name="directory"/>; returns how many.</summary>
    public static int WriteSeeds(string directory) => SeedFiles.Write(directory, "startup", Seeds());

    private static List<(byte[] Bytes, int Fds, bool Memfd)> Split(ReadOnlySpan<byte> input)
    {
        var messages = new List<(byte[], int, bool)>();
        while (input.Length >= RecordHeader)
        {
            var announced = BinaryPrimitives.ReadUInt32LittleEndian(input[8..]);
            var fdByte = input[12];
            var body = input[RecordHeader..];
            var take = (int)Math.Min((ulong)body.Length, Math.Min(announced, (uint)MessageChannel.MaxPayload) + (ulong)(fdByte >> 6));
            var bytes = new byte[12 + take];
            input[..12].CopyTo(bytes);
            body[..take].CopyTo(bytes.AsSpan(12));
            messages.Add((bytes, fdByte & 3, (fdByte & 4) != 0));
            input = body[take..];
        }

        return messages;
    }

    private static void Feed(UnixSocket socket, List<(byte[] Bytes, int Fds, bool Memfd)> messages, int memfd, int eventfd)
    {
        try
        {
            foreach (var (bytes, count, useMemfd) in messages)
            {
                Span<int> fds = [useMemfd ? memfd : eventfd, eventfd, useMemfd ? memfd : eventfd];
                socket.Send(bytes, fds[..count]);
            }
        }
        catch (IOException)
        {
            // The back end closed the connection on a message it refused: the rest is not sent.
        }
        finally
        {
            socket.Shutdown();
        }
    }
}
