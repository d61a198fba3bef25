using SharpFuzz;

namespace IoVirt.Fuzz;

/// <summary>
/// <c>iovirt-fuzz TARGET</c> runs under AFL (SharpFuzz's fork server); <c>--libfuzzer</c> runs
/// under libFuzzer instead; <c>--replay PATH...</c> runs files or directories of inputs in-process
/// and reports the ones that throw; <c>--write-seeds DIR</c> writes the generated seed corpus.
/// </summary>
internal static class Program
{
    /// <summary>Inputs are cut here: the largest memory map a header describes is well below it.</summary>
    private const int MaxInput = 1 << 20;

    private static readonly Dictionary<string, (ReadOnlySpanAction Run, Func<string, int> WriteSeeds)> Targets = new(StringComparer.Ordinal)
    {
        [SplitChainTarget.Name] = (SplitChainTarget.Run, dir => SeedGenerator.Write(false, dir)),
        [PackedChainTarget.Name] = (PackedChainTarget.Run, dir => SeedGenerator.Write(true, dir)),
        [VhostUserMessageTarget.Name] = (VhostUserMessageTarget.Run, VhostUserMessageTarget.WriteSeeds),
        [BlkSplitRequestTarget.Name] = (BlkSplitRequestTarget.Run, dir => SeedGenerator.Write(false, dir)),
        [BlkPackedRequestTarget.Name] = (BlkPackedRequestTarget.Run, dir => SeedGenerator.Write(true, dir)),
        [NetTxHeaderTarget.Name] = (input => NetTxHeaderTarget.Run(input), NetTxHeaderTarget.WriteSeeds),
        [NetControlTarget.Name] = (input => NetControlTarget.Run(input), NetControlTarget.WriteSeeds),
        [NetSplitDeviceTarget.Name] = (NetSplitDeviceTarget.Run, dir => SeedGenerator.Write(false, dir)),
        [NetPackedDeviceTarget.Name] = (NetPackedDeviceTarget.Run, dir => SeedGenerator.Write(true, dir)),
        [NetSwitchTarget.Name] = (input => NetSwitchTarget.Run(input), NetSwitchTarget.WriteSeeds),
        [VhostUserSequenceTarget.Name] = (input => VhostUserSequenceTarget.Run(input), VhostUserSequenceTarget.WriteSeeds),
        [MuxConfigTarget.Name] = (input => MuxConfigTarget.Run(input), MuxConfigTarget.WriteSeeds),
        [GpuCommandTarget.Name] = (input => GpuCommandTarget.Run(input), GpuCommandTarget.WriteSeeds),
        [Gpu3dCommandTarget.Name] = (input => Gpu3dCommandTarget.Run(input), Gpu3dCommandTarget.WriteSeeds),
    };

    private static int Main(string[] args)
    {
        if (args.Length == 0 || !Targets.TryGetValue(args[0], out var target))
        {
            return Usage();
        }

        switch (args.Length > 1 ? args[1] : null)
        {
            case null:
                RunAfl(target.Run);
                return 0;
            case "--libfuzzer" when args.Length == 2:
                Fuzzer.LibFuzzer.Run(target.Run);
                return 0;
            case "--replay" when args.Length > 2:
                return Replay(target.Run, args[2..]);
            case "--write-seeds" when args.Length == 3:
                var count = target.WriteSeeds(args[2]);
                Console.WriteLine($"{count} seeds for {args[0]} written to {args[2]}");
                return 0;
            default:
                return Usage();
        }
    }

    private static void RunAfl(ReadOnlySpanAction run)
    {
        var buffer = new byte[MaxInput];
        Fuzzer.OutOfProcess.Run(stream =>
        {
            var length = 0;
            int read;
            while (length < buffer.Length && (read = stream.Read(buffer.AsSpan(length))) > 0)
            {
                length += read;
            }

            run(buffer.AsSpan(0, length));
        });
    }

    private static int Replay(ReadOnlySpanAction run, string[] paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(Directory.GetFiles(path).Order(StringComparer.Ordinal));
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                Console.Error.WriteLine($"{path}: no such file or directory");
                return 2;
            }
        }

        var failed = 0;
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            try
            {
                run(input.AsSpan(0, Math.Min(input.Length, MaxInput)));
            }
#pragma warning disable CA1031 // Replay reports every input that throws, whatever it throws.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failed++;
                Console.Error.WriteLine($"{file}: {e}");
            }
        }

        Console.WriteLine($"{files.Count} inputs replayed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static int Usage()
    {
        Console.Error.WriteLine($"usage: iovirt-fuzz {{{string.Join('|', Targets.Keys)}}} [--libfuzzer | --replay DIR|FILE... | --write-seeds DIR]");
        return 2;
    }
}
