namespace IoVirt.Testing;

/// <summary>
/// Reads QAPI's literals: dictionaries, lists, single-quoted strings and the words true and
/// false, with # comments to the end of a line. Dictionaries keep their keys in order.
/// </summary>
internal sealed class QapiReader(string text)
{
    private int _at;

    /// <summary>Skips space and comments; false at the end of the text.</summary>
    public bool SkipSpace()
    {
        while (_at < text.Length)
        {
            if (text[_at] == '#')
            {
                while (_at < text.Length && text[_at] != '\n')
                {
                    _at++;
                }
            }
            else if (char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A <see cref="Dictionary{TKey, TValue}"/>, <see cref="List{T}"/>, string or bool.</summary>
    public object ReadValue()
    {
        Require(SkipSpace(), "a value");
        switch (text[_at])
        {
            case '{':
                _at++;
                var dictionary = new Dictionary<string, object>(StringComparer.Ordinal);
                while (!Take('}'))
                {
                    if (dictionary.Count > 0)
                    {
                        Require(Take(','), "',' or '}'");
                    }

                    var key = ReadValue() as string ?? throw Error("a key (a string)");
                    Require(Take(':'), "':'");
                    Require(dictionary.TryAdd(key, ReadValue()), $"one '{key}' only");
                }

                return dictionary;
            case '[':
                _at++;
                var list = new List<object>();
                while (!Take(']'))
                {
                    if (list.Count > 0)
                    {
                        Require(Take(','), "',' or ']'");
                    }

                    list.Add(ReadValue());
                }

                return list;
            case '\'':
                var end = text.IndexOf('\'', _at + 1);
                Require(end > 0, "a closing quote");
                var value = text[(_at + 1)..end];
                _at = end + 1;
                return value;
            default:
                foreach (var (word, meaning) in new[] { ("true", true), ("false", false) })
                {
                    if (string.CompareOrdinal(text, _at, word, 0, word.Length) == 0)
                    {
                        _at += word.Length;
                        return meaning;
                    }
                }

                throw Error("a value");
        }
    }

    private bool Take(char c)
    {
        Require(SkipSpace(), $"'{c}'");
        if (text[_at] != c)
        {
            return false;
        }

        _at++;
        return true;
    }

    private void Require(bool holds, string what)
    {
        if (!holds)
        {
            throw Error(what);
        }
    }

    private FormatException Error(string what)
    {
        var line = 1 + text.AsSpan(0, Math.Min(_at, text.Length)).Count('\n');
        return new FormatException($"QAPI line {line}: {what} expected");
    }
}
