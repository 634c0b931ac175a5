# A busybox sh script for the LibOS tests: the same output natively and
# inside the LibOS. Usage: sh busybox_script.sh WORKDIR (left empty again).
export PATH="${PATH:-/bin:/usr/bin}"
cd "$1" || exit 1
mkdir -p d/sub && echo "alpha beta" > d/a.txt && printf 'x\ny\nx\nz\n' > d/b.txt && echo nested > d/sub/c.txt
ls d | sort
cat d/a.txt d/sub/c.txt
grep -c x d/b.txt
sed 's/alpha/ALPHA/' d/a.txt
awk '{ print $2, NF }' d/a.txt
sort d/b.txt | uniq -c | sed 's/^ *//'
wc -l < d/b.txt
find d -type f | sort
tar -cf t.tar d && tar -tf t.tar | sort
mkdir d2 && tar -xf t.tar -C d2 && cat d2/d/a.txt
head -n 2 d/b.txt
tail -n 1 d/b.txt
printf '1\n2\n3\n' | xargs echo sum:
for i in 1 2 3; do echo "loop $i"; done
n=0; while [ $n -lt 3 ]; do n=$((n + 1)); done; echo "n=$n"
false; echo "status $?"
(exit 7); echo "status $?"
x=$(echo inner | tr a-z A-Z); echo "subst $x"
echo to-file > out.txt; echo appended >> out.txt; cat < out.txt
ls nonexistent 2>/dev/null; echo "ls status $?"
seq 1 20000 | grep 7 | wc -l
# A builtin loop writing more than a pipe holds, into a pipeline and into a
# command substitution (a forked shell that writes before its reader runs).
i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i + 1)); done | wc -l
big=$(i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i + 1)); done); echo "${#big}"
rm -rf d d2 t.tar out.txt
exit 4
