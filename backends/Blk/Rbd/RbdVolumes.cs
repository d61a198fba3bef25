namespace IoVirt.Backends.Blk.Rbd;

/// <summary>
/// The volumes of a multiplexer on Ceph: one RBD image per volume, named PREFIX-VOLUME in POOL,
/// for a mux whose image is <c>rbd:POOL/PREFIX[,...]</c>. A volume's image is made when first
/// asked for and kept until removed, as a volume of a file image is.
/// </summary>
public static class RbdVolumes
{
    /// <summary>The image that holds <paramref name="volume"/>.</summary>
    public static string ImageName(RbdImageSpec spec, string volume)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return $"{spec.Image}-{volume}";
    }

    /// <summary>Opens <paramref name="volume"/>'s image, creating it with <paramref name="size"/> bytes when there is none; one of another size is refused.</summary>
    public static RbdImage OpenOrCreate(RbdImageSpec spec, string volume, ulong size)
    {
        var name = ImageName(spec, volume);
        var connection = RbdConnection.Open(spec);
        try
        {
            switch (connection.ImageSize(name))
            {
                case null:
                    connection.CreateImage(name, size);
                    break;
                case var existing when existing != size:
                    throw new InvalidOperationException($"volume '{volume}' exists as {spec.Pool}/{name} with {existing} bytes, not the {size} asked for");
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        // One connection serves the check and the image: a mux with many disks connects once per disk.
        return RbdImage.Open(connection, spec with { Image = name }, readOnly: false);
    }

    /// <summary>Every volume of the prefix, with its size in bytes.</summary>
    public static IReadOnlyList<(string Volume, ulong Size)> List(RbdImageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using var connection = RbdConnection.Open(spec);
        var prefix = spec.Image + "-";
        return
        [
            .. connection.ListImages()
                .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length)
                .Order(StringComparer.Ordinal)
                .Select(name => (name[prefix.Length..], connection.ImageSize(name) ?? 0)),
        ];
    }

    /// <summary>Removes <paramref name="volume"/>'s image; false when there was none. An image a running mux has open is refused (librbd: busy).</summary>
    public static bool Remove(RbdImageSpec spec, string volume)
    {
        using var connection = RbdConnection.Open(spec);
        return connection.RemoveImage(ImageName(spec, volume));
    }
}
