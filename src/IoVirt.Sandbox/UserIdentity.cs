using System.Globalization;
using System.Runtime.InteropServices;

namespace IoVirt.Sandbox;

/// <summary>A user and group to run as: from <c>USER</c>, <c>USER:GROUP</c> or numeric ids.</summary>
public sealed unsafe record UserIdentity(string Name, uint Uid, uint Gid)
{
    /// <summary>Looks <paramref name="spec"/> up in the user and group databases; throws <see cref="SandboxException"/> when it names nobody.</summary>
    public static UserIdentity Resolve(string spec)
    {
        ArgumentException.ThrowIfNullOrEmpty(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? spec : spec[..colon];
        var group = colon < 0 ? null : spec[(colon + 1)..];
        var (uid, primaryGid) = LookUpUser(user);
        var gid = group is null ? primaryGid : LookUpGroup(group);
        return new UserIdentity(spec, uid, gid);
    }

    /// <summary>
    /// Becomes this user, in every thread (glibc carries set*id calls to all of them): no
    /// supplementary groups, then the group, then the user, so no way back remains.
    /// </summary>
    public void Assume()
    {
        var gid = Gid;
        Check(Native.SetGroups(1, &gid), "setgroups");
        Check(Native.SetGroupIds(Gid, Gid, Gid), "setresgid");
        Check(Native.SetUserIds(Uid, Uid, Uid), "setresuid");
    }

    private static void Check(int result, string operation)
    {
        if (result != 0)
        {
            throw new SandboxException(Native.LastError(operation));
        }
    }

    private static (uint Uid, uint Gid) LookUpUser(string user)
    {
        var buffer = stackalloc byte[16384];
        Native.Passwd entry;
        Native.Passwd* found;
        var numeric = uint.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var id);
        var error = numeric
            ? Native.GetPasswordEntryById(id, &entry, buffer, 16384, &found)
            : Native.GetPasswordEntry(user, &entry, buffer, 16384, &found);
        if (found is not null)
        {
            return (found->Uid, found->Gid);
        }

        // A number with no entry is still a user to become; its group is the same number.
        return error == 0 && numeric ? (id, id)
            : throw new SandboxException(error == 0 ? $"--user: no user '{user}'" : $"--user: cannot look up '{user}': {Marshal.GetPInvokeErrorMessage(error)}");
    }

    private static uint LookUpGroup(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        var buffer = stackalloc byte[16384];
        Native.Group entry;
        Native.Group* found;
        var error = Native.GetGroupEntry(group, &entry, buffer, 16384, &found);
        return found is not null ? found->Gid
            : throw new SandboxException(error == 0 ? $"--user: no group '{group}'" : $"--user: cannot look up group '{group}': {Marshal.GetPInvokeErrorMessage(error)}");
    }
}
