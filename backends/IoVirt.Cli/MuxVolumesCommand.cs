using System.CommandLine;
using System.Globalization;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Rbd;
using IoVirt.Backends.Blk.Volumes;

namespace IoVirt.Cli;

/// <summary><c>iovirt mux volumes</c>: the volumes kept beside a mux image, listed or removed.</summary>
internal static class MuxVolumesCommand
{
    public static Command Create()
    {
        var list = new DocumentedCommand("list", "Prints each volume: its name, its size and its offset in FILE, in bytes.")
        {
            Details = ExitCodes,
        };
        var listImage = CommandLine.Text("--image", "FILE", "the shared image, or rbd:POOL/PREFIX[,...]; required");
        list.Add(listImage);
        CommandLine.Require(list, listImage);
        list.SetAction(result => Catch(() => List(result.GetRequiredValue(listImage))));

        var remove = new DocumentedCommand("remove", "Forgets a volume, so a new volume may take its space (zeroed first).")
        {
            Details = "The image must not be in use by a running mux.\n\n" + ExitCodes,
        };
        var removeImage = CommandLine.Text("--image", "FILE", "the shared image, or rbd:POOL/PREFIX[,...]; required");
        var name = CommandLine.Text("--name", "NAME", "the volume to remove; required");
        remove.Add(removeImage);
        remove.Add(name);
        CommandLine.Require(remove, removeImage);
        CommandLine.Require(remove, name);
        remove.SetAction(result => Catch(() => Remove(result.GetRequiredValue(removeImage), result.GetRequiredValue(name))));

        var volumes = new DocumentedCommand("volumes", "Lists or removes the volumes of an image, as iovirt mux keeps them in FILE.volumes.json.")
        {
            Details = ExitCodes,
        };
        volumes.Add(list);
        volumes.Add(remove);
        volumes.SetAction(result => CommandLine.UsageError(result, "list or remove is required"));
        return volumes;
    }

    private const string ExitCodes = "Exit codes: 0 done, 1 the image or its table cannot be used, 2 usage error.\n";

    private static int Catch(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or InvalidDataException or System.Text.Json.JsonException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"iovirt mux volumes: {e.Message}");
            return 1;
        }
    }

    /// <summary>The RBD spec <paramref name="image"/> names (volumes on Ceph), or null for a file; a bad spec is an error.</summary>
    private static RbdImageSpec? Rbd(string image) => !RbdImageSpec.Names(image) ? null
        : RbdImageSpec.TryParse(image, out var why) ?? throw new InvalidOperationException($"bad --image '{image}': {why}");

    private static int List(string image)
    {
        Console.Out.WriteLine($"{"NAME",-20} {"SIZE",15} {"OFFSET",15}");
        if (Rbd(image) is { } rbd)
        {
            // Each volume is an image of its own: it starts at 0.
            foreach (var (name, size) in RbdVolumes.List(rbd))
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-20} {size,15} {0,15}"));
            }

            return 0;
        }

        foreach (var volume in VolumeTable.Read(VolumeTable.PathFor(image)))
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{volume.Name,-20} {volume.Size,15} {volume.Offset,15}"));
        }

        return 0;
    }

    private static int Remove(string image, string name)
    {
        if (Rbd(image) is { } rbd)
        {
            // librbd refuses to remove an image a running mux has open.
            if (!RbdVolumes.Remove(rbd, name))
            {
                throw new InvalidOperationException($"no volume named '{name}' on {image}");
            }

            Console.Error.WriteLine($"iovirt mux volumes: removed '{name}' ({rbd.Pool}/{RbdVolumes.ImageName(rbd, name)}) from {image}");
            return 0;
        }

        // Opening the image takes its lock: a running mux holds it, so its volumes cannot go from under it.
        using var store = BlockStore.Open(image, readOnly: false, direct: false);
        VolumeTable.Open(store, VolumeTable.PathFor(image)).Remove(name);
        Console.Error.WriteLine($"iovirt mux volumes: removed '{name}' from {image}");
        return 0;
    }
}
