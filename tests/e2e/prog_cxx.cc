/* prog_cxx - an ordinary C++ program (containers, strings, iostream) for
 * the transparency test: same output and exit status with and without
 * memtap. */
#include <iostream>
#include <map>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 20000; i++)
        m["key" + std::to_string(i % 997)].push_back(i);
    long sum = 0;
    for (auto &kv : m)
        for (int v : kv.second)
            sum += v * (long)kv.first.size();
    std::cout << "entries=" << m.size() << " sum=" << sum << std::endl;
    std::cerr << "to stderr: " << argc << std::endl;
    return argc > 1 ? 7 : 0;
}
