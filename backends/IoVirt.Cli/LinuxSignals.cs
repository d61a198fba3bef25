using System.Runtime.InteropServices;

namespace IoVirt.Cli;

/// <summary>Linux signals that <see cref="PosixSignal"/> has no name for.</summary>
internal static class LinuxSignals
{
    /// <summary>SIGUSR1: each program prints its report or state on it.</summary>
    public const PosixSignal SigUsr1 = (PosixSignal)10;
}
