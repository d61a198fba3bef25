using IoVirt.Abi.Gpu;
using IoVirt.Memory;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// One guest's 2D GPU: its resources, scanouts and cursor, and the commands that change them.
/// Every id, format, size, rectangle and backing range the guest names is checked first; a bad
/// one gets the spec's error response and changes nothing.
/// </summary>
internal sealed class GpuState(GpuDeviceOptions options, IGpuDisplay? display, ResourceQuota quota)
{
    /// <summary>The side of a cursor image, in pixels.</summary>
    public const uint CursorSide = 64;

    private readonly Dictionary<uint, GpuResource> _resources = [];
    private readonly Scanout[] _scanouts = new Scanout[options.Scanouts];

    public int ResourceCount => _resources.Count;

    /// <summary>The cursor's image resource (zero: hidden), scanout and position.</summary>
    public (uint Resource, uint Scanout, uint X, uint Y) Cursor { get; private set; }

    /// <summary>RESOURCE_CREATE_2D, charged to the guest's quota.</summary>
    public VirtioGpuCtrlType Create2d(in VirtioGpuResourceCreate2d command)
    {
        var (id, width, height) = (command.ResourceId, command.Width, command.Height);
        if (id == 0 || _resources.ContainsKey(id))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        if (!GpuResource.IsKnownFormat(command.Format) || width is 0 or > GpuDeviceOptions.MaxResourceSide || height is 0 or > GpuDeviceOptions.MaxResourceSide)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        if (!quota.TryCharge(GpuResource.BytesFor(width, height)))
        {
            return VirtioGpuCtrlType.ErrOutOfMemory;
        }

        _resources.Add(id, new GpuResource(id, command.Format, width, height));
        return VirtioGpuCtrlType.OkNoData;
    }

    /// <summary>The resource with this id, if it is one here.</summary>
    public GpuResource? Find(uint id) => _resources.GetValueOrDefault(id);

    public VirtioGpuCtrlType Unref(uint id)
    {
        if (!_resources.Remove(id, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        quota.Release(GpuResource.BytesFor(resource.Width, resource.Height));
        for (var i = 0; i < _scanouts.Length; i++)
        {
            if (_scanouts[i].Resource == id)
            {
                Disable(i);
            }
        }

        if (Cursor.Resource == id)
        {
            Cursor = Cursor with { Resource = 0 };
            display?.MoveCursor((int)Cursor.Scanout, Cursor.X, Cursor.Y, visible: false);
        }

        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType AttachBacking(GuestMemory memory, uint id, ReadOnlySpan<VirtioGpuMemEntry> entries)
    {
        if (!_resources.TryGetValue(id, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        if (resource.Backing is not null || entries.IsEmpty || entries.Length > options.MaxBackingEntries)
        {
            return VirtioGpuCtrlType.ErrUnspec;
        }

        resource.Backing = GpuBacking.TryCreate(memory, entries);
        return resource.Backing is null ? VirtioGpuCtrlType.ErrUnspec : VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType DetachBacking(uint id)
    {
        if (!_resources.TryGetValue(id, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        if (resource.Backing is null)
        {
            return VirtioGpuCtrlType.ErrUnspec;
        }

        resource.Backing = null;
        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType SetScanout(in VirtioGpuSetScanout command)
    {
        var scanout = command.ScanoutId;
        if (scanout >= (uint)_scanouts.Length)
        {
            return VirtioGpuCtrlType.ErrInvalidScanoutId;
        }

        if (command.ResourceId == 0)
        {
            Disable((int)scanout);
            return VirtioGpuCtrlType.OkNoData;
        }

        if (!_resources.TryGetValue(command.ResourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        var rect = command.Rect;
        if (rect.Width == 0 || rect.Height == 0 || !rect.IsInside(resource.Width, resource.Height))
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        _scanouts[scanout] = new Scanout(resource.Id, rect);
        display?.ScanoutChanged((int)scanout, rect.Width, rect.Height);
        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType TransferToHost2d(GuestMemory memory, in VirtioGpuTransferToHost2d command)
    {
        if (!_resources.TryGetValue(command.ResourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        var rect = command.Rect;
        if (!rect.IsInside(resource.Width, resource.Height))
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        if (resource.Backing is not { } backing)
        {
            return VirtioGpuCtrlType.ErrUnspec;
        }

        if (rect.Width == 0 || rect.Height == 0)
        {
            return VirtioGpuCtrlType.OkNoData;
        }

        // Row h of the rectangle starts offset + h * stride into the backing, as the resource's
        // rows are laid out there (the guest computes offset for the rectangle's first pixel).
        var stride = (ulong)resource.Stride;
        var rowBytes = (int)rect.Width * GpuResource.BytesPerPixel;
        var span = ((rect.Height - 1) * stride) + (ulong)rowBytes;
        if (command.Offset > backing.Length || span > backing.Length - command.Offset)
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        if (rect.X == 0 && rect.Width == resource.Width)
        {
            // Whole rows: one run of bytes on both sides, as a frame buffer's full update is.
            var rows = resource.Pixels.AsSpan((int)(rect.Y * stride), (int)span);
            return backing.Read(memory, command.Offset, rows) ? VirtioGpuCtrlType.OkNoData : VirtioGpuCtrlType.ErrUnspec;
        }

        for (var h = 0U; h < rect.Height; h++)
        {
            var destination = resource.Pixels.AsSpan((int)(((rect.Y + h) * stride) + ((ulong)rect.X * GpuResource.BytesPerPixel)), rowBytes);
            if (!backing.Read(memory, command.Offset + (h * stride), destination))
            {
                return VirtioGpuCtrlType.ErrUnspec;
            }
        }

        return VirtioGpuCtrlType.OkNoData;
    }

    public VirtioGpuCtrlType Flush(in VirtioGpuResourceFlush command)
    {
        if (!_resources.TryGetValue(command.ResourceId, out var resource))
        {
            return VirtioGpuCtrlType.ErrInvalidResourceId;
        }

        var rect = command.Rect;
        if (!rect.IsInside(resource.Width, resource.Height))
        {
            return VirtioGpuCtrlType.ErrInvalidParameter;
        }

        for (var i = 0; i < _scanouts.Length; i++)
        {
            if (_scanouts[i].Resource == resource.Id && display is not null && Intersect(rect, _scanouts[i].Rect) is { } damage)
            {
                var shown = _scanouts[i].Rect;
                var origin = (int)((shown.Y * (ulong)resource.Stride) + ((ulong)shown.X * GpuResource.BytesPerPixel));
                var frame = new GpuFrame(resource.Format, resource.Pixels.AsSpan(origin), resource.Stride, shown.Width, shown.Height);
                display.Flush(i, frame, new VirtioGpuRect(damage.X - shown.X, damage.Y - shown.Y, damage.Width, damage.Height));
            }
        }

        return VirtioGpuCtrlType.OkNoData;
    }

    /// <summary>
    /// Fills the scanouts' preferred modes: the display's (a VMM's windows) when it has them, as
    /// it gives them; otherwise every scanout enabled at the configured size.
    /// </summary>
    public void DisplayInfo(Span<VirtioGpuDisplayOne> modes)
    {
        if (display?.TryGetModes(modes[.._scanouts.Length]) == true)
        {
            return;
        }

        for (var i = 0; i < _scanouts.Length; i++)
        {
            modes[i].Rect = new VirtioGpuRect(0, 0, options.Width, options.Height);
            modes[i].Enabled = 1;
        }
    }

    /// <summary>The size a scanout's EDID offers: its mode in <see cref="DisplayInfo"/> where that is a size an EDID can carry, else the configured one.</summary>
    public (uint Width, uint Height) PreferredSize(uint scanout)
    {
        Span<VirtioGpuDisplayOne> modes = stackalloc VirtioGpuDisplayOne[_scanouts.Length];
        DisplayInfo(modes);
        var rect = modes[(int)scanout].Rect;
        return rect.Width is 0 or > GpuDeviceOptions.MaxDisplaySide || rect.Height is 0 or > GpuDeviceOptions.MaxDisplaySide
            ? (options.Width, options.Height)
            : (rect.Width, rect.Height);
    }

    public bool IsScanout(uint scanout) => scanout < (uint)_scanouts.Length;

    /// <summary>UPDATE_CURSOR: a 64x64 resource as the cursor image, or resource zero to hide it.</summary>
    public void UpdateCursor(in VirtioGpuUpdateCursor command)
    {
        var id = command.ResourceId;
        GpuResource? image = null;
        var position = command.Position;
        if ((id != 0 && (!_resources.TryGetValue(id, out image) || image.Width != CursorSide || image.Height != CursorSide)) || !IsScanout(position.ScanoutId))
        {
            return; // the cursor queue has no answers: a bad image or scanout is ignored
        }

        Cursor = (id, position.ScanoutId, position.X, position.Y);
        if (image is null)
        {
            display?.MoveCursor((int)position.ScanoutId, position.X, position.Y, visible: false);
        }
        else
        {
            display?.SetCursor((int)position.ScanoutId, position.X, position.Y, command.HotX, command.HotY, new GpuFrame(image.Format, image.Pixels, image.Stride, image.Width, image.Height));
        }
    }

    /// <summary>MOVE_CURSOR: the same image at another place.</summary>
    public void MoveCursor(in VirtioGpuUpdateCursor command)
    {
        var position = command.Position;
        if (IsScanout(position.ScanoutId))
        {
            Cursor = Cursor with { Scanout = position.ScanoutId, X = position.X, Y = position.Y };
            display?.MoveCursor((int)position.ScanoutId, position.X, position.Y, Cursor.Resource != 0);
        }
    }

    /// <summary>Drops every resource and turns every scanout off (device reset).</summary>
    public void Reset()
    {
        for (var i = 0; i < _scanouts.Length; i++)
        {
            Disable(i);
        }

        foreach (var resource in _resources.Values)
        {
            quota.Release(GpuResource.BytesFor(resource.Width, resource.Height));
        }

        _resources.Clear();
        Cursor = default;
    }

    private static VirtioGpuRect? Intersect(VirtioGpuRect a, VirtioGpuRect b)
    {
        var x0 = Math.Max(a.X, b.X);
        var y0 = Math.Max(a.Y, b.Y);
        var x1 = Math.Min((ulong)a.X + a.Width, (ulong)b.X + b.Width);
        var y1 = Math.Min((ulong)a.Y + a.Height, (ulong)b.Y + b.Height);
        return x1 > x0 && y1 > y0 ? new VirtioGpuRect(x0, y0, (uint)(x1 - x0), (uint)(y1 - y0)) : null;
    }

    private void Disable(int scanout)
    {
        if (_scanouts[scanout].Resource != 0)
        {
            _scanouts[scanout] = default;
            display?.ScanoutChanged(scanout, 0, 0);
        }
    }

    private readonly record struct Scanout(uint Resource, VirtioGpuRect Rect);
}
