/** Word lists for realistic AutoCognitix fixtures: Hungarian text with accents, HUF prices, real makes. */

export const MAKES = [
  ['suzuki', 'Suzuki', 'Japan'], ['opel', 'Opel', 'Germany'], ['volkswagen', 'Volkswagen', 'Germany'],
  ['skoda', 'Škoda', 'Czech Republic'], ['toyota', 'Toyota', 'Japan'], ['ford', 'Ford', 'USA'],
  ['bmw', 'BMW', 'Germany'], ['audi', 'Audi', 'Germany'], ['renault', 'Renault', 'France'],
  ['honda', 'Honda', 'Japan'], ['hyundai', 'Hyundai', 'South Korea'], ['kia', 'Kia', 'South Korea'],
  ['mercedes', 'Mercedes-Benz', 'Germany'], ['peugeot', 'Peugeot', 'France'], ['fiat', 'Fiat', 'Italy'],
  ['dacia', 'Dacia', 'Romania'], ['mazda', 'Mazda', 'Japan'], ['nissan', 'Nissan', 'Japan'],
  ['seat', 'SEAT', 'Spain'], ['volvo', 'Volvo', 'Sweden'], ['citroen', 'Citroën', 'France'],
  ['chevrolet', 'Chevrolet', 'USA'], ['mitsubishi', 'Mitsubishi', 'Japan'], ['subaru', 'Subaru', 'Japan'],
] as const;

export const MODEL_NAMES = [
  'Vitara', 'Swift', 'Astra', 'Corsa', 'Golf', 'Passat', 'Octavia', 'Fabia', 'Corolla', 'Yaris', 'Focus',
  'Fiesta', '320d', 'X3', 'A4', 'A6', 'Clio', 'Mégane', 'Civic', 'Jazz', 'i30', 'Tucson', 'Ceed', 'Sportage',
  'C-Klasse', '308', '208', 'Punto', 'Duster', 'Sandero', 'CX-5', 'Qashqai', 'Leon', 'XC60', 'C4', 'Cruze',
  'Outlander', 'Forester', 'Kodiaq', 'Superb',
];

export const BODY_TYPES = ['sedan', 'hatchback', 'kombi', 'SUV', 'egyterű', 'kupé', 'kabrió'];
export const FUEL_TYPES = ['benzin', 'dízel', 'hibrid', 'elektromos', 'LPG'];
export const SEGMENTS = ['A', 'B', 'C', 'D', 'E', 'SUV'];

export const CATEGORIES = [
  { letter: 'P', id: 'powertrain', name_hu: 'Hajtáslánc', name_en: 'Powertrain' },
  { letter: 'B', id: 'body', name_hu: 'Karosszéria', name_en: 'Body' },
  { letter: 'C', id: 'chassis', name_hu: 'Alváz', name_en: 'Chassis' },
  { letter: 'U', id: 'network', name_hu: 'Hálózati kommunikáció', name_en: 'Network Communication' },
] as const;

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

export const SYSTEMS: Record<string, readonly string[]> = {
  P: ['Fuel and Air Metering', 'Ignition System/Misfire', 'Auxiliary Emission Controls', 'Transmission', 'Powertrain'],
  B: ['Body/Interior', 'Airbag System', 'Climate Control', 'Lighting'],
  C: ['Chassis/ABS/Traction', 'Steering', 'Suspension'],
  U: ['Network Communication', 'CAN Bus'],
};

export const COMPONENTS_EN = [
  'Mass Air Flow Sensor', 'Oxygen Sensor', 'Throttle Body', 'Fuel Injector', 'Ignition Coil', 'Camshaft Position Sensor',
  'Crankshaft Position Sensor', 'EGR Valve', 'Purge Control Valve', 'Knock Sensor', 'Wheel Speed Sensor', 'ABS Pump',
  'Airbag Module', 'Seat Belt Pretensioner', 'Body Control Module', 'CAN Gateway', 'Turbocharger', 'Catalytic Converter',
  'Coolant Temperature Sensor', 'Fuel Pump', 'Steering Angle Sensor', 'Transmission Control Module',
];

export const COMPONENTS_HU = [
  'Levegőtömeg-mérő', 'Lambdaszonda', 'Fojtószelep-ház', 'Befecskendező', 'Gyújtótekercs', 'Vezérműtengely-jeladó',
  'Főtengely-jeladó', 'EGR szelep', 'Szellőzőszelep', 'Kopogásérzékelő', 'Kerékfordulatszám-érzékelő', 'ABS szivattyú',
  'Légzsák modul', 'Övfeszítő', 'Karosszéria-vezérlő egység', 'CAN átjáró', 'Turbófeltöltő', 'Katalizátor',
  'Hűtőfolyadék-hőmérséklet jeladó', 'Üzemanyag-szivattyú', 'Kormányszög-érzékelő', 'Sebességváltó-vezérlő',
];

export const FAULTS_EN = [
  'Circuit Malfunction', 'Circuit Range/Performance', 'Circuit Low Input', 'Circuit High Input', 'Circuit Intermittent',
  'Signal Stuck', 'Performance Problem', 'Open Circuit', 'Shorted to Ground', 'Communication Lost',
];

export const FAULTS_HU = [
  'áramkör meghibásodás', 'áramkör tartomány/teljesítmény hiba', 'áramkör alacsony jelszint', 'áramkör magas jelszint',
  'áramkör időszakos hiba', 'beragadt jel', 'teljesítményprobléma', 'szakadt áramkör', 'testzárlat', 'megszakadt kommunikáció',
];

export const SYMPTOMS_HU = [
  'Motor teljesítményvesztése', 'Egyenetlen alapjárat', 'Nehéz indulás', 'Megnövekedett fogyasztás', 'Rángatás gyorsításkor',
  'Motorhiba-jelző lámpa világít', 'Fekete füst a kipufogóból', 'Csökkent végsebesség', 'Fékpedál lüktetése',
  'Légzsák-figyelmeztető lámpa ég', 'Műszerfal ki-be kapcsol', 'Kormány nehézkes', 'Sípoló hang a motortérből',
  'Túlmelegedő motor', 'Leálló motor alapjáraton', 'Ütköző sebességváltás', 'Bűzös kipufogógáz',
];

export const SYMPTOMS_EN = [
  'Loss of engine power', 'Rough idle', 'Hard starting', 'Increased fuel consumption', 'Jerking on acceleration',
  'Check engine light on', 'Black exhaust smoke', 'Reduced top speed', 'Pulsating brake pedal',
  'Airbag warning light on', 'Instrument cluster flickers', 'Heavy steering', 'Whistling from the engine bay',
  'Engine overheating', 'Stalling at idle', 'Harsh gear shifts', 'Foul-smelling exhaust',
];

export const CAUSES_HU = [
  'Hibás szenzor', 'Sérült kábelköteg', 'Korrodált csatlakozó', 'Vákuumszivárgás', 'Eltömődött szűrő',
  'Hibás vezérlőegység', 'Alacsony tápfeszültség', 'Elhasznált gyújtógyertya', 'Szoftverhiba', 'Kopott tömítés',
];

export const STEPS_HU = [
  'Ellenőrizze a csatlakozót', 'Mérje meg a tápfeszültséget', 'Olvassa ki a hibakódokat', 'Ellenőrizze a kábelköteget',
  'Végezzen füstpróbát', 'Frissítse a vezérlő szoftverét', 'Cserélje a szenzort', 'Törölje a hibakódot és teszteljen',
];

export const REPAIRS_HU = [
  'Szenzor csere', 'Kábelköteg javítás', 'Csatlakozó tisztítás', 'Szoftverfrissítés', 'Szűrő csere', 'Tömítés csere',
  'Vezérlőegység programozás', 'Gyújtógyertya csere', 'Alapbeállítás', 'Vákuumcső csere',
];

export const PARTS = [
  ['maf_sensor', 'Légtömegmérő', 'MAF sensor', 28000], ['lambda_sensor', 'Lambdaszonda', 'Oxygen sensor', 24000],
  ['ignition_coil', 'Gyújtótekercs', 'Ignition coil', 18000], ['spark_plug', 'Gyújtógyertya', 'Spark plug', 3500],
  ['egr_valve', 'EGR szelep', 'EGR valve', 65000], ['fuel_pump', 'Üzemanyag-szivattyú', 'Fuel pump', 52000],
  ['oil_filter', 'Olajszűrő', 'Oil filter', 2800], ['engine_oil', 'Motorolaj', 'Engine oil', 14000],
  ['timing_chain', 'Vezérműlánc', 'Timing chain', 45000], ['abs_sensor', 'ABS jeladó', 'ABS sensor', 12500],
] as const;

export const DIFFICULTIES = ['easy', 'medium', 'hard', 'expert'] as const;

export const FIRST_NAMES = ['Ádám', 'Bence', 'Csilla', 'Dóra', 'Előd', 'Ferenc', 'Gábor', 'Hédi', 'Ildikó', 'Józsi', 'Kinga', 'Lőrinc', 'Márta', 'Nóra', 'Örs', 'Pál', 'Réka', 'Sándor', 'Tünde', 'Ügyes', 'Vilmos', 'Zsófia'];
export const LAST_NAMES = ['Nagy', 'Kovács', 'Tóth', 'Szabó', 'Horváth', 'Varga', 'Kiss', 'Molnár', 'Németh', 'Farkas', 'Balogh', 'Papp', 'Lukács', 'Szűcs', 'Fülöp', 'Győri'];

export const CITIES = [
  ['Budapest', 47.4979, 19.0402], ['Debrecen', 47.5316, 21.6273], ['Szeged', 46.253, 20.1414],
  ['Miskolc', 48.1035, 20.7784], ['Pécs', 46.0727, 18.2323], ['Győr', 47.6875, 17.6504],
  ['Nyíregyháza', 47.9554, 21.7167], ['Kecskemét', 46.8964, 19.6897], ['Székesfehérvár', 47.186, 18.4221],
] as const;

export const RECALL_COMPONENTS = [
  'ENGINE AND ENGINE COOLING:ENGINE:ENGINE CONTROL MODULE (ECU/ECM):SOFTWARE', 'AIR BAGS:FRONTAL',
  'SERVICE BRAKES, HYDRAULIC:ANTILOCK', 'ELECTRICAL SYSTEM:WIRING', 'FUEL SYSTEM, GASOLINE:DELIVERY:FUEL PUMP',
  'STEERING:ELECTRIC POWER ASSIST SYSTEM', 'POWER TRAIN:AUTOMATIC TRANSMISSION',
];

export const REMINDER_KINDS = ['mueszaki_vizsga', 'kotelezo_biztositas', 'olajcsere', 'gumicsere'] as const;
