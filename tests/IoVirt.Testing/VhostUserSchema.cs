namespace IoVirt.Testing;

/// <summary>
/// QEMU's docs/interop/vhost-user.json, the schema of back-end capabilities and descriptor files,
/// as tests/guest/qemu-schema.sh takes it from Debian's QEMU source package (tests/setup.sh runs it).
/// </summary>
public static class VhostUserSchema
{
    public static string FilePath => Path.Combine(
        Environment.GetEnvironmentVariable("IOVIRT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "iovirt"),
        "qemu-schema",
        "vhost-user.json");

    /// <summary>The schema; fails, with the script's words, when setup has not fetched it.</summary>
    public static QapiSchema Load()
    {
        QemuGuest.RequireBuilt("qemu-schema.sh", "QEMU vhost-user schema");
        return QapiSchema.Load(FilePath);
    }
}
