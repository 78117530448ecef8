/**
 * The demo sub-district a newcomer gets on an empty store: two compounds, three property areas, a few
 * hundred units with owners, two property companies with contracts, guards with handhelds, committees,
 * a caseworker and zones. Generated deterministically, so every fresh start looks the same.
 */
export const DEMO = {
  subDistrictId: 'sd-banshongyuan',
  compounds: [
    { compoundId: 'xiling', name: '西凌新村', address: '西藏南路' },
    { compoundId: 'yaojiang', name: '耀江花园', address: '半淞园路' },
  ],
  areas: [
    {
      compoundId: 'xiling',
      areaId: 'xiling-north',
      name: '西凌新村北区',
      buildings: [1, 2, 3, 4],
      floors: 6,
      roomsPerFloor: 4,
      company: 'anju',
    },
    {
      compoundId: 'xiling',
      areaId: 'xiling-south',
      name: '西凌新村南区',
      buildings: [5, 6, 7, 8],
      floors: 6,
      roomsPerFloor: 4,
      company: 'anju',
    },
    {
      compoundId: 'yaojiang',
      areaId: 'yaojiang',
      name: '耀江花园',
      buildings: [1, 2, 3],
      floors: 12,
      roomsPerFloor: 2,
      company: 'huaxin',
    },
  ],
  companies: [
    { companyId: 'anju', name: '安居物业管理有限公司' },
    { companyId: 'huaxin', name: '华信物业服务有限公司' },
  ],
  staff: [
    {
      companyId: 'anju',
      staffId: 'guard-li',
      name: '李师傅',
      role: 'guard',
      handheldThing: 'hh-anju-guard-li',
      areaIds: ['xiling-north', 'xiling-south'],
    },
    {
      companyId: 'anju',
      staffId: 'manager-zhou',
      name: '周经理',
      role: 'manager',
      handheldThing: 'hh-anju-manager-zhou',
      areaIds: ['xiling-north', 'xiling-south'],
    },
    {
      companyId: 'huaxin',
      staffId: 'guard-wang',
      name: '王师傅',
      role: 'guard',
      handheldThing: 'hh-huaxin-guard-wang',
      areaIds: ['yaojiang'],
    },
  ],
  caseworkers: [{ caseworkerId: 'cw-chen', name: '陈社工', compoundIds: ['xiling', 'yaojiang'] }],
  zones: [
    {
      compoundId: 'xiling',
      zoneId: 'fire-lane-east',
      kind: 'fire-lane',
      name: '东侧消防通道',
      areaId: 'xiling-north',
      position: { lat: 31.2052, lon: 121.4901 },
    },
    {
      compoundId: 'xiling',
      zoneId: 'elevator-3',
      kind: 'elevator',
      name: '3号楼电梯',
      areaId: 'xiling-north',
      building: '3',
      position: { lat: 31.2055, lon: 121.4897 },
    },
    {
      compoundId: 'xiling',
      zoneId: 'parking-a',
      kind: 'parking-space',
      name: 'A区停车位',
      areaId: 'xiling-south',
      position: { lat: 31.2048, lon: 121.4904 },
    },
    {
      compoundId: 'xiling',
      zoneId: 'charging-1',
      kind: 'charging-area',
      name: '非机动车充电棚',
      areaId: 'xiling-south',
      position: { lat: 31.2046, lon: 121.4899 },
    },
    {
      compoundId: 'yaojiang',
      zoneId: 'gate-main',
      kind: 'entrance',
      name: '正门',
      position: { lat: 31.2031, lon: 121.4923 },
    },
    {
      compoundId: 'yaojiang',
      zoneId: 'shopfront-west',
      kind: 'shopfront',
      name: '西侧沿街商铺',
      position: { lat: 31.2029, lon: 121.4918 },
    },
  ],
  devices: [
    {
      compoundId: 'xiling',
      thingName: 'xl-geomag-fire-lane-01',
      type: 'geomagnetic-sensor',
      zoneId: 'fire-lane-east',
      position: { lat: 31.20521, lon: 121.49012 },
    },
    {
      compoundId: 'xiling',
      thingName: 'xl-elevator-cam-3',
      type: 'elevator-camera',
      zoneId: 'elevator-3',
      building: '3',
      position: { lat: 31.2055, lon: 121.4897 },
    },
    {
      compoundId: 'xiling',
      thingName: 'xl-charger-01',
      type: 'charger',
      zoneId: 'charging-1',
      position: { lat: 31.2046, lon: 121.4899 },
    },
    {
      compoundId: 'xiling',
      thingName: 'hh-anju-guard-li',
      type: 'handheld',
      zoneId: 'fire-lane-east',
      position: { lat: 31.2052, lon: 121.4901 },
    },
    {
      compoundId: 'yaojiang',
      thingName: 'yj-gate-main',
      type: 'gate',
      zoneId: 'gate-main',
      position: { lat: 31.2031, lon: 121.4923 },
    },
    {
      compoundId: 'yaojiang',
      thingName: 'hh-huaxin-guard-wang',
      type: 'handheld',
      zoneId: 'gate-main',
      position: { lat: 31.2031, lon: 121.4923 },
    },
  ],
} as const;

const SURNAMES = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '周',
  '吴',
  '徐',
  '孙',
  '朱',
  '马',
  '胡',
  '郭',
];
const GIVEN = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀英',
  '霞',
  '平',
];

/** A roster CSV (Chinese headers) for one demo area: some owners hold two units, a few are unsold. */
export const demoRosterCsv = (area: (typeof DEMO.areas)[number]): string => {
  const lines = ['楼号,室号,专有面积,业主姓名,证件号后四位,手机,开发商持有'];
  let n = 0;
  for (const building of area.buildings) {
    for (let floor = 1; floor <= area.floors; floor++) {
      for (let room = 1; room <= area.roomsPerFloor; room++) {
        n++;
        const roomNo = `${floor}0${room}`;
        const areaM2 = (58 + ((n * 37) % 45) + ((n * 13) % 100) / 100).toFixed(2);
        if (n % 23 === 0) {
          lines.push(`${building},${roomNo},${areaM2},,,,是`);
          continue;
        }
        // Every 10th home belongs to the owner of the home before it: one owner, two units.
        const ownerNo = n % 10 === 0 ? n - 1 : n;
        const name = `${SURNAMES[ownerNo % SURNAMES.length]}${GIVEN[(ownerNo * 7) % GIVEN.length]}`;
        const idLast4 = String((ownerNo * 7919) % 10000).padStart(4, '0');
        const phone = `13${String(800000000 + ownerNo * 7321).slice(0, 9)}`;
        lines.push(`${building},${roomNo},${areaM2},${name},${idLast4},${phone},否`);
      }
    }
  }
  return `${lines.join('\r\n')}\r\n`;
};
