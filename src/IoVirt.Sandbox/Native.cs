using System.Runtime.InteropServices;

namespace IoVirt.Sandbox;

/// <summary>
/// The libc calls the sandbox makes, each setting the last P/Invoke error. Raw syscalls go
/// through syscall(2), which is written in assembly and safe to call with fixed arguments.
/// set*id calls go through glibc, which applies them to every thread of the process.
/// </summary>
internal static unsafe partial class Native
{
    public const long SysPivotRoot = 155;
    public const long SysPrctl = 157;
    public const long SysSeccomp = 317;

    public const long PrSetNoNewPrivs = 38;
    public const long SeccompSetModeFilter = 1;
    public const long SeccompFilterFlagTsync = 1;

    public const int CloneNewNs = 0x00020000;
    public const int CloneNewNet = 0x40000000;

    public const nuint MsRdonly = 1;
    public const nuint MsNosuid = 2;
    public const nuint MsNodev = 4;
    public const nuint MsNoexec = 8;
    public const nuint MsRemount = 32;
    public const nuint MsBind = 4096;
    public const nuint MsRec = 16384;
    public const nuint MsPrivate = 1 << 18;

    public const int MntDetach = 2;
    public const int OPath = 0x200000;
    public const int ODirectory = 0x10000;
    public const int OCloexec = 0x80000;
    public const int EEXIST = 17;
    public const int EPERM = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct SockFprog
    {
        public ushort Length;
        public BpfInstruction* Filter;
    }

    /// <summary>struct passwd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    /// <summary>struct group.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Group
    {
        public byte* Name;
        public byte* Password;
        public uint Gid;
        public byte** Members;
    }

    /// <summary>The failure of the last call made here, as one line.</summary>
    public static string LastError(string operation) => $"{operation} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? type, nuint flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unmount(string target, int flags);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint ReadLink(string path, byte* buffer, nuint size);

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    public static partial int Execute(byte* path, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ChangeDirectory(string path);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MakeDirectory(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ChangeOwner(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    public static partial int SetGroups(nuint count, uint* groups);

    [LibraryImport("libc", EntryPoint = "setresgid", SetLastError = true)]
    public static partial int SetGroupIds(uint real, uint effective, uint saved);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUserId();

    [LibraryImport("libc", EntryPoint = "setresuid", SetLastError = true)]
    public static partial int SetUserIds(uint real, uint effective, uint saved);

    [LibraryImport("libc", EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetPasswordEntry(string name, Passwd* entry, byte* buffer, nuint size, Passwd** result);

    [LibraryImport("libc", EntryPoint = "getpwuid_r")]
    public static partial int GetPasswordEntryById(uint uid, Passwd* entry, byte* buffer, nuint size, Passwd** result);

    [LibraryImport("libc", EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetGroupEntry(string name, Group* entry, byte* buffer, nuint size, Group** result);
}
