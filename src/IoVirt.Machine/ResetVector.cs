namespace IoVirt.Machine;

/// <summary>
/// What sits at the x86 reset vector (F000:FFF0) in place of firmware. A hardware-reduced ACPI
/// Linux reboots through EFI and then by jumping there in real mode; this code pulses the
/// keyboard controller's reset line, which the VMM takes as the guest's reboot.
/// </summary>
public static class ResetVector
{
    public const ulong Address = 0xffff0;

    /// <summary>mov al, 0xfe; out 0x64, al; hlt; jmp to the hlt.</summary>
    public static ReadOnlySpan<byte> Code => [0xb0, PowerControl.ResetValue, 0xe6, (byte)PowerControl.ResetPort, 0xf4, 0xeb, 0xfd];
}
