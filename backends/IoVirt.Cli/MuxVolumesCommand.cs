using System.Globalization;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Volumes;

namespace IoVirt.Cli;

/// <summary><c>iovirt mux volumes</c>: the volumes kept beside a mux image, listed or removed.</summary>
internal static class MuxVolumesCommand
{
    public const string Usage = """
        Usage: iovirt mux volumes list|remove --image FILE [--name NAME]

        The volumes of the image FILE, as iovirt mux keeps them in FILE.volumes.json.
          list      prints each volume: its name, its size and its offset in FILE, in bytes
          remove    forgets the volume --name NAME, so a new volume may take its space
                    (zeroed first); the image must not be in use by a running mux

        Options:
          --image FILE           the shared image; required
          --name NAME            the volume to remove
          -h, --help             show this text

        Exit codes: 0 done, 1 the image or its table cannot be used, 2 usage error.
        """;

    private static readonly HashSet<string> ValueOptions = ["--image", "--name"];
    private static readonly HashSet<string> Flags = ["-h", "--help"];

    public static int Run(ReadOnlySpan<string> args)
    {
        var action = args.IsEmpty ? null : args[0];
        if (action is not ("list" or "remove"))
        {
            if (action is "-h" or "--help")
            {
                Console.Out.Write(Usage);
                return 0;
            }

            return Program.UsageError(action is null ? "list or remove is required" : $"unknown action '{action}' (list or remove)", Usage);
        }

        if (CommandLine.Parse(args[1..], ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        if (line.Value("--image") is not { } image)
        {
            return Program.UsageError("--image FILE is required", Usage);
        }

        var name = line.Value("--name");
        if ((action == "remove") != (name is not null))
        {
            return Program.UsageError(action == "remove" ? "remove needs --name NAME" : "--name is for remove", Usage);
        }

        try
        {
            return action == "list" ? List(image) : Remove(image, name!);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or InvalidDataException or System.Text.Json.JsonException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"iovirt mux volumes: {e.Message}");
            return 1;
        }
    }

    private static int List(string image)
    {
        Console.Out.WriteLine($"{"NAME",-20} {"SIZE",15} {"OFFSET",15}");
        foreach (var volume in VolumeTable.Read(VolumeTable.PathFor(image)))
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{volume.Name,-20} {volume.Size,15} {volume.Offset,15}"));
        }

        return 0;
    }

    private static int Remove(string image, string name)
    {
        // Opening the image takes its lock: a running mux holds it, so its volumes cannot go from under it.
        using var store = BlockStore.Open(image, readOnly: false, direct: false);
        VolumeTable.Open(store, VolumeTable.PathFor(image)).Remove(name);
        Console.Error.WriteLine($"iovirt mux volumes: removed '{name}' from {image}");
        return 0;
    }
}
